"""Load on the question form: many visitors, each loading /contact/ and sending a question.

Each simulated visitor is a new person: no cookies, a fresh client address (X-Forwarded-For, as
nginx would add it), a GET of /contact/ that gives the CSRF cookie, the token and the signed form
stamp, then a POST of valid, varied answers. A submission counts as accepted when the answer is
the 302 to the confirmation page; anything else is an error, by kind. Requests carry
X-Forwarded-Proto: https, as nginx sends them, so the Secure CSRF cookie and the HTTPS origin
check work over plain HTTP on the loopback.
"""

import gzip
import http.client
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlencode

import brotli

from bench.lib import cookie_value, hidden_inputs

NAMES = ["Alex Morgan", "Sam Patel", "Jo Williams", "Chris O'Neill", "Priya Shah", "Łukasz Nowak"]
CANCERS = ["", "melanoma", "cervical cancer", "non-small cell lung cancer", "head and neck"]
TOPICS = [
    "is-til-right",
    "treatment-process",
    "side-effects",
    "costs",
    "clinical-trials",
    "other",
]
ASKING_AS = ["patient", "caregiver", "professional", "other"]
CAME_FROM = ["", "/", "/side-effects/", "/treatment-journey/", "/glossary/"]
SENTENCES = [
    "My father has melanoma that came back after immunotherapy.",
    "How long does the hospital stay usually last?",
    "Is TIL therapy available outside a clinical trial where we live?",
    "What happens during the lymphodepleting chemotherapy?",
    "Can I keep working while the cells are being grown?",
    "Which side effects are the most common in the first weeks?",
    "Do I need someone with me after I leave hospital?",
    "How is the tumour sample taken, and does it hurt?",
]


@dataclass
class FormLoadResult:
    seconds: float
    accepted_in_window: int
    accepted_total: int
    attempted_total: int
    errors: Counter = field(default_factory=Counter)
    submission_ms: list = field(default_factory=list)  # GET + POST, accepted, in the window
    post_ms: list = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.accepted_in_window / self.seconds if self.seconds else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def question_data(rng: random.Random) -> dict:
    preferred = rng.choice(["email", "email", "phone"])
    words = rng.sample(SENTENCES, rng.randint(1, len(SENTENCES)))
    return {
        "name": rng.choice(NAMES),
        "email": f"person{rng.randrange(10**6)}@example.org",
        "phone": f"020 7946 {rng.randrange(10**4):04d}" if preferred == "phone" else "",
        "preferred_contact": preferred,
        "asking_as": rng.choice(ASKING_AS),
        "cancer_type": rng.choice(CANCERS),
        "topic": rng.choice(TOPICS),
        "question": " ".join(words) * rng.randint(1, 3),
        "consent": "on",
        "website": "",
    }


def _body(response: http.client.HTTPResponse) -> bytes:
    data = response.read()
    encoding = response.getheader("Content-Encoding", "")
    if encoding == "gzip":
        return gzip.decompress(data)
    if encoding == "br":
        return brotli.decompress(data)
    return data


class FormLoad:
    def __init__(self, host: str, port: int, *, sessions: int, warmup: float, duration: float):
        self.host, self.port = host, port
        self.sessions, self.warmup, self.duration = sessions, warmup, duration
        self.origin = f"https://{host}:{port}"
        self._lock = threading.Lock()
        self._records: list[tuple[float, float, float]] = []  # (finished, total ms, post ms)
        self._errors: Counter = Counter()
        self._attempted = 0

    def run(self) -> FormLoadResult:
        started = time.perf_counter()
        window = (started + self.warmup, started + self.warmup + self.duration)
        stop_at = window[1]
        threads = [
            threading.Thread(target=self._visitor_loop, args=(index, stop_at), daemon=True)
            for index in range(self.sessions)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        in_window = [record for record in self._records if window[0] <= record[0] <= window[1]]
        return FormLoadResult(
            seconds=self.duration,
            accepted_in_window=len(in_window),
            accepted_total=len(self._records),
            attempted_total=self._attempted,
            errors=self._errors,
            submission_ms=[record[1] for record in in_window],
            post_ms=[record[2] for record in in_window],
        )

    def _visitor_loop(self, index: int, stop_at: float) -> None:
        rng = random.Random(index)
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        visitor = 0
        while time.perf_counter() < stop_at:
            visitor += 1
            address = f"10.{index % 250}.{visitor // 250 % 250}.{visitor % 250 + 1}"
            try:
                outcome = self._submit(connection, rng, address)
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                outcome = f"socket error: {type(error).__name__}"
            with self._lock:
                self._attempted += 1
                if isinstance(outcome, tuple):
                    self._records.append((time.perf_counter(), *outcome))
                else:
                    self._errors[outcome] += 1
        connection.close()

    def _submit(self, connection, rng: random.Random, address: str):
        headers = {
            "Host": f"{self.host}:{self.port}",
            "Accept-Encoding": "gzip, br",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": address,
        }
        began = time.perf_counter()
        connection.request("GET", "/contact/", headers=headers)
        response = connection.getresponse()
        page = _body(response).decode()
        if response.status != 200:
            return f"GET /contact/ {response.status}"
        token = cookie_value(response.headers.get_all("Set-Cookie") or [], "csrftoken")
        inputs = hidden_inputs(page)
        if not token or "csrfmiddlewaretoken" not in inputs or "form_stamp" not in inputs:
            return "GET /contact/ without CSRF cookie, token or form stamp"
        data = question_data(rng) | {
            "csrfmiddlewaretoken": inputs["csrfmiddlewaretoken"],
            "form_stamp": inputs["form_stamp"],
            "came_from": rng.choice(CAME_FROM),
        }
        post_began = time.perf_counter()
        connection.request(
            "POST",
            "/contact/",
            body=urlencode(data),
            headers=headers
            | {
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": f"csrftoken={token}",
                "Origin": self.origin,
                "Referer": f"{self.origin}/contact/",
            },
        )
        response = connection.getresponse()
        response.read()
        finished = time.perf_counter()
        location = response.getheader("Location", "")
        if response.status == 302 and "/contact/thank-you/" in location:
            return (finished - began) * 1000, (finished - post_began) * 1000
        if response.status == 200:
            return "POST /contact/ 200 (the form came back with errors)"
        return f"POST /contact/ {response.status}"
