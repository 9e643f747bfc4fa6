"""Operations: compare facts with the wanted state and return a Change;
they write only when ``dry_run`` is False and something differs."""
