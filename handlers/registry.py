"""Every handler of the bot, added in one place, in the order PTB tries them.

Order matters (PTB tries the groups in ascending order; within a group the first handler that matches
takes the update):
- group -1, the gate: redelivered update ids, strangers and deactivated people are stopped here
  (``guard.before``); what anyone may send (the public survey) is let through by the predicates given
  to the gate below.
- group 0, the features: buttons that must work in the middle of any dialogue (an office's decision,
  a list) come before the dialogues; a dialogue's Confirm or Cancel pressed after the dialogue ended
  comes after it; the catch-all for messages nobody understood comes last.
- group 100: the update id of an update that had no effect of its own is recorded and the delivery
  worker woken (``guard.after``).
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from handlers import (
    accountability,
    adjust,
    alerts,
    appeal,
    assess,
    common,
    dashboard,
    errors,
    groups,
    guard,
    help,
    history,
    inspect,
    invite,
    items,
    itemwork,
    lang,
    mytargets,
    newitem,
    notice,
    portfolio,
    ranking,
    report,
    review,
    score,
    start,
    survey,
    surveysession,
    warning,
)
from handlers.context import Deps
from services.assessment import survey as survey_links
from services.people import invite as invitations

PRIVATE = filters.ChatType.PRIVATE


def _deep_link(prefix: str) -> filters.BaseFilter:
    """``/start <prefix>…``: a deep link of t.me/<bot>?start=<prefix>…"""
    return filters.Regex(rf"^/start(@\w+)?\s+{prefix}")


def register(app: Application) -> None:
    """Add every handler and the error handler to ``app``."""
    deps: Deps = app.bot_data
    # What strangers and deactivated people may still send: the survey's answers and their comment.
    deps.public_updates = (survey.lets_through,)
    app.add_handler(TypeHandler(Update, guard.before), group=-1)

    # /start: an invitation, a survey link, or the greeting.
    app.add_handler(CommandHandler("start", invite.join, _deep_link(invitations.PAYLOAD_PREFIX)))
    app.add_handler(CommandHandler("start", survey.start_link, _deep_link(survey_links.PAYLOAD_PREFIX)))
    app.add_handler(CommandHandler("start", start.start))
    app.add_handler(CommandHandler("help", help.help_command))
    app.add_handler(CommandHandler("me", help.me))
    app.add_handler(CommandHandler("lang", lang.lang))
    app.add_handler(CommandHandler("invite", invite.invite))

    # The office's verdicts on evidence (issue #15): before the dialogues, so an admin in one can still press them.
    app.add_handler(CallbackQueryHandler(review.decide_report, pattern=r"^rv:(ok|no):\d{1,18}$"))
    app.add_handler(CallbackQueryHandler(review.report_files, pattern=r"^rv:files:\d{1,18}$"))
    app.add_handler(CallbackQueryHandler(review.decide_visit, pattern=r"^vh:(ok|no):\d{1,18}$"))
    app.add_handler(CallbackQueryHandler(review.visit_files, pattern=r"^vh:files:\d{1,18}$"))

    # Progress: /report, /mytargets, /history, /adjust (the office's decision first).
    app.add_handler(report.conversation())
    app.add_handler(CallbackQueryHandler(report.confirm, pattern=r"^rep:ok:\d{1,18}$"))  # a Confirm pressed again
    app.add_handler(CommandHandler("mytargets", mytargets.mytargets))
    app.add_handler(CallbackQueryHandler(mytargets.turn_page, pattern=r"^my:p:\d{1,18}$"))
    app.add_handler(CommandHandler("history", history.show_history))
    app.add_handler(CallbackQueryHandler(history.turn_page, pattern=r"^hi:\d{1,18}:\d{1,6}$"))
    app.add_handler(CallbackQueryHandler(adjust.decide, pattern=r"^adj:(ok|no):\d{1,18}$"))
    app.add_handler(adjust.conversation())
    app.add_handler(CallbackQueryHandler(adjust.confirm, pattern=r"^adj:y:\d{1,18}$"))
    app.add_handler(CallbackQueryHandler(adjust.cancel, pattern=r"^adj:x$"))

    # Alerts: a push's list and Acknowledge all, acknowledge, details, ask for a report, /alerts, /mute.
    app.add_handler(CallbackQueryHandler(alerts.list_page, pattern=r"^al:ls:\d{1,18}(:\d{1,6})?$"))
    app.add_handler(CallbackQueryHandler(alerts.acknowledge_all, pattern=r"^al:aa:\d{1,18}(:\d{1,6})?$"))
    app.add_handler(CallbackQueryHandler(alerts.acknowledge, pattern=r"^al:ack:\d{1,18}(:\d{1,18}:\d{1,6})?$"))
    app.add_handler(CallbackQueryHandler(alerts.show_details, pattern=r"^al:det:\d{1,18}$"))
    app.add_handler(CallbackQueryHandler(alerts.ask_report, pattern=r"^al:ask:\d{1,18}$"))
    app.add_handler(CommandHandler("alerts", alerts.list_alerts))
    # Warning notices (预警通知单): the unit's answer, and its Submit or Cancel pressed after it ended.
    app.add_handler(warning.conversation())
    app.add_handler(CallbackQueryHandler(warning.confirm, pattern=r"^wn:y:\d{1,18}$"))
    app.add_handler(CallbackQueryHandler(warning.cancel, pattern=r"^wn:x$"))
    app.add_handler(CommandHandler("mute", alerts.mute))

    # Inspection: /inspect, /visits.
    app.add_handler(inspect.conversation())
    app.add_handler(CallbackQueryHandler(inspect.confirm, pattern=r"^ins:ok:\d{1,18}$"))  # a Confirm pressed again
    app.add_handler(CommandHandler("visits", inspect.visits))

    # Supervision items (督办件): the lists, the card, Sign, Approve and the files work in the middle of any
    # dialogue; then opening an item (/newitem, from an alert, an inspection — 整改 — or a notice) and a unit's
    # notes, reports and the verifier's comments; a Confirm or Cancel pressed after its dialogue ended last.
    # The buttons of the rectifications that came before (rect:…) lead to the items they became.
    app.add_handler(CommandHandler("items", items.items_command, PRIVATE))
    app.add_handler(CommandHandler("rectify", items.rectify_command, PRIVATE))
    app.add_handler(CallbackQueryHandler(items.turn_page,
                                         pattern=r"^it:pg:\d{1,6}:[a-z-]\.[a-z-]\.[0-9-]{1,18}\.[0-9-]{1,18}$"))
    app.add_handler(CallbackQueryHandler(items.view, pattern=r"^it:view:\d{1,18}$"))
    app.add_handler(CallbackQueryHandler(items.sign, pattern=r"^it:sign:\d{1,18}$"))
    app.add_handler(CallbackQueryHandler(items.approve,
                                         pattern=r"^(it:ok:\d{1,18}:\d{1,6}|rect:ok:\d{1,18}(:\d{1,6})?)$"))
    app.add_handler(CallbackQueryHandler(items.part_files, pattern=r"^it:files:\d{1,18}$"))
    app.add_handler(CallbackQueryHandler(items.item_files, pattern=r"^it:att:\d{1,18}$"))
    app.add_handler(CallbackQueryHandler(items.old_review, pattern=r"^rect:review:\d{1,18}$"))
    app.add_handler(newitem.conversation())
    app.add_handler(itemwork.conversation())
    app.add_handler(CallbackQueryHandler(newitem.confirm, pattern=r"^ni:y:\d{1,18}$"))
    app.add_handler(CallbackQueryHandler(newitem.cancel, pattern=r"^ni:x$"))
    app.add_handler(CallbackQueryHandler(itemwork.confirm, pattern=r"^(iw|rect):y:\d{1,18}$"))
    app.add_handler(CallbackQueryHandler(itemwork.cancel, pattern=r"^(iw|rect):x$"))

    # Criticism notices: the office's decision first.
    app.add_handler(CallbackQueryHandler(notice.decide, pattern=r"^ntc:(ok|no):\d{1,18}$"))
    app.add_handler(notice.edit_conversation())
    app.add_handler(CommandHandler("notice", notice.notice, PRIVATE))
    # Group chats (the gate lets nothing else of a group through): binding by an admin, a group becoming a
    # supergroup, the bot added to or removed from a group.
    app.add_handler(CommandHandler("bindgroup", groups.bind))
    app.add_handler(CommandHandler("unbindgroup", groups.unbind))
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, groups.migrated))
    app.add_handler(ChatMemberHandler(groups.membership, ChatMemberHandler.MY_CHAT_MEMBER))

    # Year-end assessment: the public survey, cross and inspection scoring, appeals, results.
    app.add_handler(survey.conversation())
    app.add_handler(CallbackQueryHandler(survey.skip, pattern=r"^sv:skip$"))  # a Skip pressed after the comment
    app.add_handler(CommandHandler("assess", assess.list_tasks, PRIVATE))
    app.add_handler(CallbackQueryHandler(assess.list_tasks, pattern=r"^as:list$"))
    app.add_handler(assess.conversation())
    app.add_handler(CallbackQueryHandler(assess.confirm, pattern=r"^as:y:\d{1,18}$"))
    app.add_handler(CallbackQueryHandler(assess.cancel, pattern=r"^as:x$"))
    app.add_handler(CallbackQueryHandler(assess.stray, pattern=r"^as:(skip|e)$"))
    app.add_handler(appeal.office_conversation())
    app.add_handler(appeal.conversation())
    app.add_handler(CommandHandler("ranking", ranking.ranking))
    app.add_handler(CallbackQueryHandler(ranking.pressed, pattern=r"^rk:\d{1,18}$"))
    app.add_handler(CommandHandler("score", score.score))
    app.add_handler(CommandHandler("portfolio", portfolio.portfolio))
    app.add_handler(CallbackQueryHandler(portfolio.portfolio, pattern=r"^pf:pg$"))
    app.add_handler(CallbackQueryHandler(portfolio.turn_page, pattern=r"^pf:pg:\d{1,4}$"))
    app.add_handler(CallbackQueryHandler(portfolio.acknowledge_all, pattern=r"^pf:ack:\d{1,18}$"))
    app.add_handler(CommandHandler("accountability", accountability.accountability, PRIVATE))
    app.add_handler(CommandHandler("outcome", accountability.outcome, PRIVATE))
    app.add_handler(CommandHandler("surveysession", surveysession.open_session, PRIVATE))
    app.add_handler(CommandHandler("dashboard", dashboard.dashboard, PRIVATE))  # a login link is for one person's eyes

    # Last in group 0: /cancel outside any dialogue; a button press nothing took (answered, so that Telegram
    # stops its spinner); a registered person's message nobody understood. New messages only: a live location
    # keeps sending edits, which are not questions.
    app.add_handler(CommandHandler("cancel", common.nothing_to_cancel, PRIVATE))
    app.add_handler(CallbackQueryHandler(common.stale_button))
    app.add_handler(MessageHandler(PRIVATE & filters.UpdateType.MESSAGE, guard.unknown))
    app.add_handler(TypeHandler(Update, guard.after), group=100)
    app.add_error_handler(errors.on_error)
