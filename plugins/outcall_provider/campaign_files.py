"""Finding and reading campaign files (include/campaigns/<name>.yaml)."""
from __future__ import annotations

import os
from pathlib import Path

from outcall_provider.rules.campaign import Campaign, CampaignFileError, parse_campaign
from outcall_provider.rules.state_rules import StateRules


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
    state_rules(campaign)  # a broken rules file makes the campaign file invalid, not a failed tick
    return campaign


def state_rules(campaign: Campaign) -> StateRules:
    """The shipped US state rules, extended or overridden by the campaign's compliance.state_rules
    file (relative to the campaign file)."""
    shipped = StateRules.shipped()
    if not campaign.compliance.state_rules:
        return shipped
    path = Path(campaign.path).parent / campaign.compliance.state_rules
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise CampaignFileError(campaign.path, [f"compliance.state_rules: cannot read {path}: {e}"]) from e
    try:
        return shipped.extended(text, str(path))
    except ValueError as e:
        raise CampaignFileError(campaign.path, [f"compliance.state_rules: {e}"]) from None


def campaign_path(name: str, folder: Path | None = None) -> Path | None:
    """The file of campaign `name` (`<name>.yaml` or `.yml`), or None."""
    return next((path for path in campaign_paths(folder) if path.stem == name), None)


def find_campaign(name: str, folder: Path | None = None) -> Campaign:
    path = campaign_path(name, folder)
    if path is None:
        raise LookupError(f"no campaign file {name}.yaml in {folder or campaigns_dir()}")
    return load_campaign(path)


def leads_csv_path(campaign: Campaign) -> Path | None:
    """The campaign's lead CSV, relative to its file."""
    if campaign.leads is None or not campaign.leads.csv:
        return None
    return (Path(campaign.path).parent / campaign.leads.csv).resolve()


# Parsed campaign files by path, each with the (mtime_ns, size, inode) it was parsed at. The
# API server reads every campaign file on each request; parsing and validating them every time
# would cost more than most page queries. An edit, or a file replaced by rename, changes the key.
_parsed: dict[str, tuple[tuple[int, int, int], Campaign | CampaignFileError]] = {}


def load_campaign_cached(path: str | os.PathLike) -> Campaign:
    """load_campaign, re-read only when the file changed since the last call (an invalid file
    raises its CampaignFileError again, without being parsed again)."""
    key = str(path)
    try:
        st = os.stat(key)
    except OSError as e:
        _parsed.pop(key, None)
        raise CampaignFileError(key, [f"cannot read the file: {e}"]) from e
    stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
    cached = _parsed.get(key)
    if cached is None or cached[0] != stamp:
        try:
            result: Campaign | CampaignFileError = load_campaign(key)
        except CampaignFileError as e:
            result = e
        cached = _parsed[key] = (stamp, result)
    if isinstance(cached[1], CampaignFileError):
        raise cached[1].with_traceback(None)  # one stored error: no traceback piles up on it
    return cached[1]


def invalid_campaign_files(folder: Path | None = None) -> dict[str, CampaignFileError]:
    """Every campaign file that cannot be used, by campaign name (its file's name), with all its
    errors, cached. The Campaigns page shows them: their DAG is gone, not paused."""
    found = {}
    for path in campaign_paths(folder):
        try:
            load_campaign_cached(path)
        except CampaignFileError as e:
            found[path.stem] = e
    return found


def cached_campaigns(folder: Path | None = None) -> list[Campaign]:
    """Every valid campaign file in the folder (invalid ones show as DAG import errors), cached."""
    found = []
    for path in campaign_paths(folder):
        try:
            found.append(load_campaign_cached(path))
        except CampaignFileError:
            continue
    return found
