"""The question form, laid out with crispy-forms' GOV.UK (gds) template pack.

Messages follow the GOV.UK Design System's error message patterns: they say what went wrong
and how to fix it, in the same words a person would use.
"""

import re
import unicodedata
from typing import cast

from crispy_forms_gds.helper import FormHelper
from crispy_forms_gds.layout import HTML, Field, Layout, Size, Submit
from django import forms
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from inquiries.models import QUESTION_MAX_LENGTH, Inquiry
from inquiries.protection import safe_came_from
from tilsite.pages import get_registry

PHONE_CHARACTERS = re.compile(r"^\+?[0-9 ()\-.]+$")
HONEYPOT_FIELD = "website"


# Bidirectional embeddings, overrides and isolates reorder how text is shown, so a name or a
# question could read differently to staff than what was typed ("Trojan Source"). They are
# removed. Other format characters stay as typed: the zero-width joiner and non-joiner are
# part of emoji sequences and of names in many scripts; the direction marks (LRM, RLM, ALM)
# only help mixed-direction text display as written.
BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


def privacy_url() -> str:
    """The privacy notice in the active language (the English one until it is translated)."""
    translated = get_registry().translation_of("privacy")
    return translated.url if translated else reverse("page", kwargs={"slug": "privacy"})


def without_bidi_controls(value: str) -> str:
    return value.translate(BIDI_CONTROLS)


def single_line(value: str) -> str:
    """One line as typed: line breaks, tabs, other control characters and runs of spaces
    become single spaces, bidirectional controls go; every other character is kept."""
    value = without_bidi_controls(value)
    spaced = "".join(
        " " if unicodedata.category(ch) in {"Cc", "Zl", "Zp", "Zs"} else ch for ch in value
    )
    return " ".join(spaced.split())


FIELDS = (
    "name",
    "email",
    "phone",
    "preferred_contact",
    "asking_as",
    "cancer_type",
    "topic",
    "question",
)

# Lazy: these are read when the form is shown, in the language of the page.
LABELS = {
    "name": _("Your name"),
    "email": _("Email address"),
    "phone": _("Phone number (optional)"),
    "preferred_contact": _("How would you like us to reply?"),
    "asking_as": _("I am asking as"),
    "cancer_type": _("Type of cancer (optional)"),
    "topic": _("What is your question about?"),
    "question": _("Your question"),
}

HINTS = {
    "email": _("We will only use this to answer your question."),
    "phone": _(
        "Only if you would like us to call you. Include the country code if you are outside the UK."
    ),
    "cancer_type": _("For example, melanoma or cervical cancer."),
    "question": _(
        "Tell us what you would like to know. Please do not include details "
        "we do not need, such as your date of birth or hospital number."
    ),
}

PHONE_FORMAT_MESSAGE = _("Enter a phone number, like 020 7946 0000 or +44 20 7946 0000")
# Django fills in %(limit_value)d, the field's maximum length, when it shows the message.
ERROR_MESSAGES = {
    "name": {
        "required": _("Enter your name"),
        "max_length": _("Your name must be %(limit_value)d characters or fewer"),
    },
    "email": {
        "required": _("Enter your email address"),
        "invalid": _("Enter an email address in the correct format, like name@example.com"),
        "max_length": _("Enter an email address in the correct format, like name@example.com"),
    },
    "phone": {"max_length": PHONE_FORMAT_MESSAGE},
    "preferred_contact": {
        "required": _("Select how you would like us to reply"),
        "invalid_choice": _("Select how you would like us to reply"),
    },
    "asking_as": {
        "required": _("Select who you are asking as"),
        "invalid_choice": _("Select who you are asking as"),
    },
    "cancer_type": {
        "max_length": _("The type of cancer must be %(limit_value)d characters or fewer")
    },
    "topic": {
        "required": _("Select what your question is about"),
        "invalid_choice": _("Select what your question is about"),
    },
    "question": {"required": _("Enter your question")},
}

WIDGETS = {
    "name": forms.TextInput(attrs={"autocomplete": "name", "spellcheck": "false"}),
    "email": forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    "preferred_contact": forms.RadioSelect,
    "asking_as": forms.RadioSelect,
    "topic": forms.RadioSelect,
    "cancer_type": forms.TextInput,
    "question": forms.Textarea(attrs={"rows": 8}),
}


class InquiryForm(forms.ModelForm):
    # Not model fields: the consent tick, the honeypot and two hidden values.
    consent = forms.BooleanField(
        label=_(
            "I agree that you may store and use the details I have given to answer my question"
        ),
        required=True,
        error_messages={
            "required": _(
                "Select the box to agree that we may store and use your details "
                "to answer your question"
            )
        },
    )
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )
    came_from = forms.CharField(required=False, widget=forms.HiddenInput)
    form_stamp = forms.CharField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Inquiry
        fields = FIELDS
        labels = LABELS
        help_texts = HINTS
        error_messages = ERROR_MESSAGES
        widgets = WIDGETS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Radio groups start with nothing selected and no "------" choice.
        for name in ("preferred_contact", "asking_as", "topic"):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            choices = cast(list[tuple[str, str]], field.choices)  # plain pairs: model choices
            field.choices = [choice for choice in choices if choice[0]]
        # Let people type past a limit and be told, rather than being cut off silently.
        for field in self.fields.values():
            field.widget.attrs.pop("maxlength", None)
        question = self.fields["question"]
        assert isinstance(question, forms.CharField)
        question.max_length = None
        self.fields["question"].validators = []
        self.fields["consent"].help_text = format_html(
            gettext(
                'Read our <a href="{}">privacy notice</a> to see how we look after your details.'
            ),
            privacy_url(),
        )
        self.helper = self.build_helper()

    def build_helper(self) -> FormHelper:
        # The <form> tag, the CSRF token and the two hidden fields that differ per request are
        # written by templates/inquiries/contact.html, around the layout: the layout itself is
        # the same for every empty form and is rendered once (a {% cache %} fragment).
        helper = FormHelper()
        helper.form_tag = False
        helper.disable_csrf = True
        helper.layout = Layout(
            Field.text("name", field_width=20),
            Field.text("email", field_width=30),
            Field.text("phone", field_width=20),
            Field.radios("preferred_contact", legend_size=Size.SMALL, inline=True),
            Field.radios("asking_as", legend_size=Size.SMALL),
            Field.text("cancer_type", field_width=30),
            Field.radios("topic", legend_size=Size.SMALL),
            Field.textarea("question", max_characters=QUESTION_MAX_LENGTH),
            Field.checkbox("consent"),
            HTML('{% include "inquiries/_honeypot.html" %}'),
            HTML('{% include "inquiries/_safety_box.html" %}'),
            Submit("send", gettext("Send question")),
        )
        return helper

    # --- Field cleaning -------------------------------------------------------------------

    def clean_name(self):
        name = single_line(self.cleaned_data["name"])
        if not name:
            raise forms.ValidationError(ERROR_MESSAGES["name"]["required"])
        return name

    def clean_email(self):
        return self.cleaned_data["email"].strip()

    def clean_phone(self):
        phone = single_line(self.cleaned_data.get("phone", ""))
        if not phone:
            return ""
        digits = re.sub(r"\D", "", phone)
        if not PHONE_CHARACTERS.match(phone) or not 6 <= len(digits) <= 15:
            raise forms.ValidationError(PHONE_FORMAT_MESSAGE)
        return phone

    def clean_cancer_type(self):
        return single_line(self.cleaned_data.get("cancer_type", ""))

    def clean_question(self):
        # Browsers send line breaks as CR LF; count them as one character, as the page does.
        question = self.cleaned_data["question"].replace("\r\n", "\n").replace("\r", "\n")
        question = without_bidi_controls(question)
        question = question.strip()
        if not question:
            raise forms.ValidationError(ERROR_MESSAGES["question"]["required"])
        if len(question) > QUESTION_MAX_LENGTH:
            raise forms.ValidationError(
                gettext("Your question must be %(limit)s characters or fewer (it has %(length)s)")
                % {"limit": f"{QUESTION_MAX_LENGTH:,}", "length": f"{len(question):,}"}
            )
        return question

    def clean_came_from(self):
        return safe_came_from(self.cleaned_data.get("came_from"))

    def clean(self):
        cleaned = super().clean() or self.cleaned_data
        wants_phone = cleaned.get("preferred_contact") == Inquiry.ContactMethod.PHONE
        if wants_phone and not cleaned.get("phone") and "phone" not in self.errors:
            self.add_error(
                "phone", gettext("Enter a phone number so that we can call you, or choose email")
            )
        return cleaned

    # --- For the view -----------------------------------------------------------------------

    @property
    def honeypot_filled(self) -> bool:
        return bool(self.data.get(HONEYPOT_FIELD, "").strip())

    def error_summary(self) -> list[tuple[str, str]]:
        """(message, id of the input to link to) for the error summary, in page order.

        A radio group links to its first radio, as the GOV.UK pattern asks; messages that
        belong to no field have no link.
        """
        items = [(str(message), "") for message in self.non_field_errors()]
        for field in self.visible_fields():
            if field.name == HONEYPOT_FIELD:
                continue
            target = field.id_for_label
            if isinstance(field.field.widget, forms.RadioSelect):
                target = f"id_{field.html_name}_1"
            items.extend((str(message), target) for message in field.errors)
        return items
