"""Telegram transport: parse the update, call one service, render the reply. One module per conversation or
command, named like its service module; a dialogue is ``X.py`` (callbacks and its ConversationHandler),
``X_text.py`` (what it shows) and ``X.mmd`` (its states). ``registry`` adds every handler in one place.

Shared by every handler: ``common`` (the viewer, replying), ``context`` (the typed bot_data), ``dialogue``
(the handler half of the dialogue skeleton), ``files`` (files people send), ``menu`` (command menus).
Nothing here imports bot/ or another feature's handler module.
"""
