"""Finding and reading campaign files (include/campaigns/<name>.yaml)."""
from __future__ import annotations

import os
from pathlib import Path

from outcall_provider.rules.campaign import Campaign, CampaignFileError, parse_campaign


def campaigns_dir() -> Path:
    default = Path(__file__).resolve().parents[2] / "include" / "campaigns"
    return Path(os.environ.get("OUTCALL_CAMPAIGNS_DIR") or default)


def campaign_paths(folder: Path | None = None) -> list[Path]:
    folder = folder or campaigns_dir()
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])


def load_campaign(path: str | os.PathLike) -> Campaign:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise CampaignFileError(str(path), [f"cannot read the file: {e}"]) from e
    campaign = parse_campaign(text, str(path))
    if campaign.name != path.stem:
        raise CampaignFileError(str(path), [
            f"name: {campaign.name!r} must match the file name {path.stem!r} (the DAG id is campaign_<name>)"])
    return campaign


def find_campaign(name: str, folder: Path | None = None) -> Campaign:
    for path in campaign_paths(folder):
        if path.stem == name:
            return load_campaign(path)
    raise LookupError(f"no campaign file {name}.yaml in {folder or campaigns_dir()}")


def leads_csv_path(campaign: Campaign) -> Path | None:
    """The campaign's lead CSV, relative to its file."""
    if campaign.leads is None or not campaign.leads.csv:
        return None
    return (Path(campaign.path).parent / campaign.leads.csv).resolve()
