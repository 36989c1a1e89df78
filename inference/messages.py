"""What the employee reads about a photo: one human sentence per reason code, each with what to do about it."""
from __future__ import annotations

from .request import SelfieVerdict

# One human sentence per reason, each with what to do about it. Ingest reasons carry their own messages.
REASON_MESSAGES: dict[str, str] = {
    "no_face": "We couldn't find a face. Take the photo facing the camera in good light.",
    "multiple_faces": "We found more than one person in this photo. Take it alone, with nobody else in the frame.",
    "face_too_small": "Your face is too small in this photo. Hold the camera closer so your head and shoulders fill "
                      "the frame.",
    "face_cut_off": "Your face is cut off at the edge of the photo. Keep your whole head inside the frame.",
    "too_blurry": "This photo is blurry. Hold the phone still, tap your face to focus, and take it again.",
    "too_dark": "Your face is too dark in this photo. Face a window or a lamp and take it again.",
    "too_bright": "Your face is overexposed in this photo. Move out of direct light and take it again.",
    "too_noisy": "This photo is grainy, as photos taken in dim light are. Move to a brighter spot and take it again.",
    "blown_highlights": "Part of your face is washed out to pure white. Move out of direct sun or turn off the flash, "
                        "and take it again.",
    "deep_shadows": "Part of your face is lost in deep shadow. Face the light so it falls evenly on your face, and "
                    "take it again.",
    "face_obscured": "We couldn't see your whole face clearly. Face the camera with nothing covering your face (no "
                     "mask, hand or hair), and take it again.",
    "face_covered": "Something covers part of your face — a microphone, hand or phone. Upload one where nothing is in "
                    "front of you.",
    "cut_off_below_chin": "This photo is cut off just below your chin, so we would have to invent your shoulders. "
                          "Upload one that shows your neck and shoulders, with some space below them.",
    "microphone_below_face": "There is a microphone in front of your chest, just below your face, and your headshots "
                             "will show it. For headshots without it, upload a photo with nothing in front of you.",
    "microphone_framed_out": "There is a microphone in front of your chest, so we frame the headshots from this photo "
                             "close to keep it out. For other framings, upload a photo with nothing in front of you.",
    "head_turned": "Your head is turned to the side. Look straight into the camera and take it again.",
    "chin_up": "Your chin is raised (or the camera is below you). Hold the camera at eye level, keep your chin level, "
               "and take it again.",
    "chin_down": "Your chin is lowered (or the camera is above you). Hold the camera at eye level, keep your chin "
                 "level, and take it again.",
    "head_tilted": "Your head is tilted to one side. Keep your head straight and the phone upright, and take it again.",
    "eyes_closed": "Your eyes look closed in this photo. Keep both eyes open and take it again.",
    "eyes_not_visible": "We couldn't see both of your eyes. Take off sunglasses, move hair away from your eyes, and "
                        "take it again.",
    "duplicate": "This photo is almost the same as another one you uploaded, so we kept the sharper one. For the best "
                 "results, vary your expression, angle or outfit between photos.",
    "different_person": "This photo doesn't look like the same person as your other photos. Upload only photos of "
                        "yourself.",
    "identity_unclear": "Your photos look like different people, so we can't tell which ones are you. Upload at least "
                        "three photos of yourself alone.",
    "processing_failed": "Something went wrong while processing this photo. Try another photo; if it happens again, "
                         "contact support.",
}


def rejected(name: str, reason: str, message: str | None = None, *, width: int | None = None,
             height: int | None = None) -> SelfieVerdict:
    """A photo's verdict refused for one reason, with its message (REASON_MESSAGES' unless one is given)."""
    return SelfieVerdict(
        name=name, accepted=False, reasons=(reason,), messages=(message or REASON_MESSAGES[reason],),
        width=width, height=height,
    )

