"""Facts: functions and resources that only read state."""
