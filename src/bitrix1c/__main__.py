"""``python -m bitrix1c`` is the ``bitrix1c`` command."""

from bitrix1c.cli import app

app()
