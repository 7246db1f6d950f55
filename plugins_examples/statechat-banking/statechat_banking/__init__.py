"""statechat-banking: an example statechat plugin package.

* ``statechat_banking.plugin`` — the plugin (entry point ``banking`` in the ``statechat`` group):
  action ``validate_account_access``, validator ``account_exists``, auth provider ``mfa`` and
  integration ``core_banking``.
* ``statechat_banking.service`` — a small aiohttp core-banking service to run it against
  (``python -m statechat_banking.service --port 8081``).
"""

__version__ = "0.1.0"
