"""Professional-appropriateness scores (attire, background, presentation) from a CLIP model in the store, zero-shot."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

# Zero-shot prompts per aspect: the first is the professional one, the rest are what a directory photo must not be.
# The score of an aspect is CLIP's softmax probability of the first prompt against the others (0..1).
ASPECT_PROMPTS: dict[str, tuple[str, ...]] = {
    "attire": ("a person wearing professional business attire",
               "a person wearing casual clothes", "a person wearing revealing clothes", "a person in a costume"),
    "background": ("a portrait with a clean plain studio background",
                   "a portrait with a cluttered messy background", "a portrait outdoors at a party"),
    "presentation": ("a professional corporate headshot photo",
                     "a casual selfie", "a blurry low quality photo", "a silly face photo"),
}
# OpenAI CLIP's image normalisation (the store's CLIP models were trained with it).
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
UNCALIBRATED = ("recorded, not gated: no calibration of these zero-shot scores on approved directory photos yet")


@dataclass
class AppropriatenessScorer:
    model: Any
    tokenizer: Any
    name: str
    device: str = "cpu"

    @classmethod
    def load(cls, folder: Path, *, name: str, device: str = "cpu") -> AppropriatenessScorer:
        from transformers import CLIPModel, CLIPTokenizer  # lazy: transformers takes seconds to import

        model = CLIPModel.from_pretrained(str(folder), local_files_only=True).to(device).eval()
        tokenizer = CLIPTokenizer.from_pretrained(str(folder), local_files_only=True)
        return cls(model=model, tokenizer=tokenizer, name=name, device=device)

    def score(self, rgb: np.ndarray) -> dict[str, Any]:
        side = int(self.model.config.vision_config.image_size)
        pixels = cv2.resize(np.ascontiguousarray(rgb), (side, side), interpolation=cv2.INTER_AREA).astype(np.float32)
        pixels = (pixels / 255.0 - np.array(CLIP_MEAN, np.float32)) / np.array(CLIP_STD, np.float32)
        image = torch.from_numpy(pixels).permute(2, 0, 1)[None].to(self.device)
        scores: dict[str, Any] = {"model": self.name, "gate": UNCALIBRATED}
        with torch.inference_mode():
            image_features = self.model.get_image_features(pixel_values=image)
            if not isinstance(image_features, torch.Tensor):  # transformers 5 may return a model output
                image_features = image_features.pooler_output
            image_features = image_features / image_features.norm(dim=-1, keepdim=True)
            for aspect, prompts in ASPECT_PROMPTS.items():
                tokens = self.tokenizer(list(prompts), padding=True, return_tensors="pt").to(self.device)
                text = self.model.get_text_features(**tokens)
                if not isinstance(text, torch.Tensor):
                    text = text.pooler_output
                text = text / text.norm(dim=-1, keepdim=True)
                logits = self.model.logit_scale.exp() * image_features @ text.T
                scores[aspect] = round(float(logits.softmax(dim=-1)[0, 0]), 4)
        scores["overall"] = round(float(np.mean([scores[a] for a in ASPECT_PROMPTS])), 4)
        return scores


def unavailable(reason: str) -> dict[str, Any]:
    """What the QC record says when no CLIP model is in the store: the reason, never a made-up number."""
    return {aspect: f"unavailable: {reason}" for aspect in (*ASPECT_PROMPTS, "overall")}
