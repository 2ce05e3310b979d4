"""A local fake of Telegram's Bot API that the real bot talks to over HTTP, in tests and in `duban sandbox`: the server
(``server.FakeBotAPI``), users and groups (``chats``), request parsing (``params``), method handlers
(``methods``), Telegram's text checks (``text``), bot settings (``settings``), injected faults
(``faults``) and webhook delivery (``webhook``)."""
