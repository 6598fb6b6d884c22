"""The comment that may follow a "No": one optional text box, with the honeypot beside it."""

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from feedback.models import COMMENT_MAX_LENGTH

HONEYPOT_FIELD = "website"


class CommentForm(forms.Form):
    comment = forms.CharField(
        label=_("What was missing or unclear? (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    # People never see it (templates/feedback/comment.html hides it); robots tend to fill it in.
    website = forms.CharField(required=False)

    @property
    def honeypot_filled(self) -> bool:
        return bool(str(self.data.get(HONEYPOT_FIELD, "")).strip())

    def clean_comment(self):
        # Browsers send line breaks as CR LF; count them as one character, as the page does.
        comment = self.cleaned_data["comment"].replace("\r\n", "\n").replace("\r", "\n").strip()
        if len(comment) > COMMENT_MAX_LENGTH:
            raise forms.ValidationError(
                gettext("Your comment must be %(limit)d characters or fewer (it has %(length)d)")
                % {"limit": COMMENT_MAX_LENGTH, "length": len(comment)}
            )
        return comment
