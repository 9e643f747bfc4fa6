"""What several section modules share: the carbon.xml namespace."""

from __future__ import annotations

CARBON_NS = {"c": "http://wso2.org/projects/carbon/carbon.xml"}
