from django import forms

from cadcam.forms import Form
from reviews.models import COMMENT_MAX, COMMENT_MIN, REPLY_MAX, REPLY_MIN

RATING_CHOICES = [(5, "5 stars: excellent"), (4, "4 stars: good"), (3, "3 stars: fair"), (2, "2 stars: poor"),
                  (1, "1 star: bad")]


class ReviewForm(Form):
    rating = forms.TypedChoiceField(
        choices=sorted(RATING_CHOICES), coerce=int, widget=forms.RadioSelect, label="Your rating",
        error_messages={"required": "Choose a rating from 1 to 5 stars.",
                        "invalid_choice": "Choose a rating from 1 to 5 stars."},
    )
    comment = forms.CharField(
        label="Your review", min_length=COMMENT_MIN, max_length=COMMENT_MAX, strip=True,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=f"Plain text, {COMMENT_MIN} to {COMMENT_MAX} characters. Visible once both of you have reviewed, "
        "or when the 14 days end.",
        error_messages={
            "required": f"Write at least {COMMENT_MIN} characters in your review.",
            "min_length": f"Write at least {COMMENT_MIN} characters in your review.",
            "max_length": f"Your review can be at most {COMMENT_MAX} characters.",
        },
    )


class ReplyForm(Form):
    reply = forms.CharField(
        label="Your public reply", min_length=REPLY_MIN, max_length=REPLY_MAX, strip=True,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=f"Plain text, up to {REPLY_MAX} characters. You can reply once.",
        error_messages={
            "required": "Write your reply.",
            "min_length": f"Write at least {REPLY_MIN} characters in your reply.",
            "max_length": f"Your reply can be at most {REPLY_MAX} characters.",
        },
    )
