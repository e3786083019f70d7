"""Presets: the shipped ones and those saved in the database."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response

from evolab.config import EvolutionConfig, preset_description, preset_names
from evolab.server.deps import PresetsPage, StoreDep, WorkerDep
from evolab.server.overrides import as_dict
from evolab.server.schemas import PresetDoc, PresetPage, PresetRequest

router = APIRouter(prefix="/api/presets", tags=["presets"])

# letters, digits, spaces, "_", "." and "-"; no space at either end (the store keeps names stripped)
PresetName = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9 _.-]{0,62}[A-Za-z0-9_.-])?$", description="a preset name")
]


def _shipped(name: str) -> PresetDoc:
    cfg = EvolutionConfig.from_preset(name)
    return PresetDoc(name=name, builtin=True, description=preset_description(name), config=cfg)


def _saved(name: str, cfg: EvolutionConfig) -> PresetDoc:
    return PresetDoc(name=name, builtin=False, description="saved in this database", config=cfg)


@router.get("", response_model=PresetPage, summary="Shipped presets, then saved ones, a page at a time")
def list_presets(store: StoreDep, page: PresetsPage) -> PresetPage:
    shipped = preset_names()
    saved = [_saved(name, cfg) for name, cfg in store.presets().items() if name not in shipped]
    docs = [*(_shipped(name) for name in shipped), *saved]
    return PresetPage(data=page.slice(docs), count=len(docs))


@router.get("/{name}", response_model=PresetDoc, summary="One preset")
def get_preset(name: PresetName, store: StoreDep) -> PresetDoc:
    if name in preset_names():
        return _shipped(name)
    saved = store.presets()
    if name not in saved:
        raise HTTPException(404, f"unknown preset {name!r}")
    return _saved(name, saved[name])


@router.put("/{name}", response_model=PresetDoc, summary="Save a configuration under a name")
def save_preset(name: PresetName, body: PresetRequest, worker: WorkerDep) -> PresetDoc:
    if name in preset_names():
        raise HTTPException(409, f"{name!r} is a shipped preset; choose another name")
    if body.base not in preset_names():
        raise HTTPException(422, f"unknown base preset {body.base!r} (choose from {', '.join(preset_names())})")
    cfg = EvolutionConfig.from_preset(body.base, **as_dict(body.config))
    worker.call("preset", None, lambda s: s.save_preset(name, cfg))
    return _saved(name, cfg)


@router.delete("/{name}", status_code=204, response_class=Response, summary="Forget a saved preset")
def delete_preset(name: PresetName, store: StoreDep, worker: WorkerDep) -> Response:
    if name in preset_names():
        raise HTTPException(409, f"{name!r} is a shipped preset and cannot be deleted")
    if name not in store.presets():
        raise HTTPException(404, f"unknown preset {name!r}")
    worker.call("preset", None, lambda s: s.delete_preset(name))
    return Response(status_code=204)
