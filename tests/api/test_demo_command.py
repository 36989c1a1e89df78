"""`make demo`: summary.json counts approved headshots from what the API says, and the output a newcomer reads
keeps real warnings but not native libraries' chatter."""
from __future__ import annotations

import os

import pytest

from teams.management.commands.demo import demo_summary, native_noise_filtered
from tests.factories import client_for
from tests.portal.test_admin_selectors import add_headshot
from tests.urls import tenant_url

pytestmark = pytest.mark.django_db


def test_one_approval_each_reads_as_one_approved_in_the_summary(tenant_a):
    extra = [add_headshot(tenant_a.headshot.request) for _ in range(3)]
    chosen = extra[1]  # an id well above 1, which the old summary printed as the "approved" figure
    assert client_for(tenant_a.admin).post(tenant_url("headshot-approve", tenant_a.org, chosen.pk), {"approved": True},
                                           format="json").status_code == 200
    rows = client_for(tenant_a.employee_user).get(tenant_url("my-headshot-list", tenant_a.org)).json()["results"]
    people = [{"name": "Ada", "headshots": rows, "request": {"status": "done"}},
              {"name": "Nobody yet", "request": {"status": "failed"}}]
    assert demo_summary(people) == {
        "Ada": {"headshots": 4, "approved": 1, "approved_ids": [chosen.pk], "status": "done"},
        "Nobody yet": {"headshots": 0, "approved": 0, "approved_ids": [], "status": "failed"},
    }


MEDIAPIPE_CHATTER = [
    "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "W0000 00:00:1796478579.949045    8760 inference_feedback_manager.cc:114] Feedback manager requires a model "
    "with a single signature inference. Disabling support for feedback tensors.",
    "(SegmentationActor pid=4242) I0000 00:00:1796478580.000647    8763 gl_context.cc:357] GL version: 3.2",
]
REAL = [
    "/app/teams/jobs.py:88: UserWarning: selfie 12 could not be decoded",
    "W0000 00:00:1796478580.075114    8763 face_landmarker_graph.cc:174] Sets FaceBlendshapesGraph acceleration",
    "Traceback (most recent call last):",
]


def test_native_chatter_written_to_stderr_is_dropped_and_real_warnings_pass(capfd):
    with native_noise_filtered():
        for line in [*MEDIAPIPE_CHATTER[:2], REAL[0], *MEDIAPIPE_CHATTER[2:], *REAL[1:]]:
            os.write(2, (line + "\n").encode())  # as native code does, below Python's sys.stderr
    assert capfd.readouterr().err.splitlines() == REAL
    os.write(2, b"after the demo\n")  # the terminal's stderr is back
    assert capfd.readouterr().err == "after the demo\n"
