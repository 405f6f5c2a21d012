"""bitrix1c: two-way exchange between Bitrix24 CRM and 1C:Enterprise."""

__version__ = "0.1.0"
