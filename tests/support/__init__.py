"""What tests stand on: the fake Bot API, rigs that run the bot, the command line and the webhook server
against it, and data factories."""
