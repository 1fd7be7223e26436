"""Questionnaires from XLSForms: a form engine with no Telegram and no database in it.

    from forms import Form, Questionnaire, check_form
    form = Form.load("forms/default/regsosek_first_visit.xlsx")      # cached per file
    engine = Questionnaire(form, clock)                                # clock: domain.clock.Clock
    state = engine.start(zone="Asia/Makassar", preload={"needs_photo": "1"})
    step = engine.next_question(state, "resident")                     # None when nothing is left
    result = engine.answer(state, step.name, "4", audience="resident") # result.state is the new state
    engine.back(state, "resident"); engine.review(state); engine.is_complete(state); engine.record(state)

Repeats (a household roster) are asked instance by instance; inside one a step's name is its key,
``member_name[2]`` (forms.engine.key_of / split_key), and the record holds a repeat as a list of objects.

Modules: form (pyxform -> compiled Form), xpath (elementpath + ODK functions), parsing (typed text ->
stored value), engine (steps, answers, record), check (check_form), messages (catalog keys).
"""
from forms.check import check_form
from forms.engine import Questionnaire, Result, ReviewItem, Step, may_answer
from forms.form import ANY, AUDIENCES, Choice, Field, Form
from forms.messages import KEYS as MESSAGE_KEYS
from forms.messages import Message
from forms.parsing import Attachment, Location
from forms.problems import FormError, Problem
from forms.xpath import ExpressionError

__all__ = [
    "ANY", "AUDIENCES", "MESSAGE_KEYS", "Attachment", "Choice", "ExpressionError", "Field", "Form",
    "FormError", "Location", "Message", "Problem", "Questionnaire", "Result", "ReviewItem", "Step",
    "check_form", "may_answer",
]
