"""End-to-end initial load of counterparties against the sandboxes, with dedup checks.

``python -m benchmarks initial_load [--companies 2000] [--counterparties 10000]
[--scale-limits 20]``

* The 1C sandbox holds ``--counterparties`` generated counterparties (УТ 11).
* The Bitrix24 sandbox does NOT get its default pre-seeding (the 1C base is filled before
  the sandbox starts, so ``seed_if_empty`` skips both systems). Instead this benchmark
  builds the portal through the public ``Portal.call`` API: ``--companies`` companies, 30 %
  of them duplicates of 1C legal entities under name variants (legal-form order, quotes,
  case, ё/е, transliteration) — half with a requisite carrying the INN+KPP, half without
  requisites (some with the phone in another format) — and the rest unrelated (half of
  those with a requisite carrying an INN that 1C does not have).
* The portal's limits are the standard plan's multiplied by ``--scale-limits``.
* Then the initial load as a user runs it: the plan (dry run, ``bitrix1c plan
  counterparties``) and the counterparties flow through ``Service.run``.

Checks (exit 1 if one fails):

1. no INN+KPP pair is carried by two companies the sync created or linked (all requisites
   read back from the portal over HTTP);
2. every 1C counterparty is linked or explained by its plan row (review, invalid keys,
   duplicate inside 1C, excluded, ignored);
3. no pre-seeded duplicate with a requisite was created twice (its INN+KPP is on one
   company only, and the 1C record is linked to the pre-seeded company).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bitrix1c import logs
from bitrix1c.demo import demo_settings
from bitrix1c.onec.profiles import get_profile
from bitrix1c.sandbox.bitrix24.limits import PLANS
from bitrix1c.sandbox.onec import populate_ut11
from bitrix1c.sandbox.seed import SeedCounterparty, generate_counterparties
from bitrix1c.sandbox.server import Sandbox
from bitrix1c.service import Service
from bitrix1c.state.review import ReviewQueue
from bitrix1c.state.store import links
from bitrix1c.sync.engine import run_flow
from bitrix1c.sync.flows.counterparties import FLOW, CounterpartySync
from bitrix1c.sync.plan import InitialLoadPlan

DUPLICATE_SHARE = 0.3
EXPLAINED = {"review", "invalid", "duplicate_1c", "ignored", "excluded"}
FORMS = {"ООО": "LLC", "АО": "JSC", "ПАО": "PJSC", "ЗАО": "CJSC", "НКО": "NPO"}
_CYR = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"
_LAT = "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch _ y _ e yu ya"
LATIN = dict(zip(_CYR, _LAT.replace("_", "").split(" "), strict=True))
UNRELATED_WORDS = (
    "Кофейня Лесная Студия Грация Автосервис Поршень Цветы Флоренция Барбершоп Ветклиника "
    "Айболит Фитнес Атлет Пекарня Колосок Типография Оттиск Прачечная Чистюля Склад Восток"
).split()


def translit(text: str) -> str:
    out = []
    for ch in text:
        lat = LATIN.get(ch.lower())
        out.append(ch if lat is None else (lat.capitalize() if ch.isupper() else lat))
    return "".join(out)


def name_variant(name: str, rnd: random.Random) -> str:
    """How a manager might have typed a 1C name in the CRM."""
    form, _, core = name.partition(" ")
    core = core.strip().strip("\"«»“”'")
    if form not in FORMS and form != "ИП":
        return name.upper()
    style = rnd.randrange(6)
    if style == 0:  # legal form after the name
        return f"{core} {form}"
    if style == 1:  # other quotes
        return f"{form} «{core}»" if '"' in name else f'{form} "{core}"'
    if style == 2:  # case, no quotes
        return f"{form} {core.upper()}"
    if style == 3:  # lower case, ё → е, form after
        return f"{core.lower().replace('ё', 'е')} {form.lower()}"
    if style == 4:  # Latin transliteration
        return f"{translit(core)} {FORMS.get(form, 'IE')}"
    return f"{form} '{core}'"


def inn10(rnd: random.Random) -> str:
    digits = [rnd.randrange(10) for _ in range(9)]
    weights = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    check = sum(w * d for w, d in zip(weights, digits, strict=True)) % 11 % 10
    return "".join(map(str, digits)) + str(check)


def typed_phone(phone: str) -> str:
    digits = "".join(ch for ch in phone.split("доб")[0] if ch.isdigit())[-10:]
    return f"8 ({digits[:3]}) {digits[3:6]}-{digits[6:8]}-{digits[8:]}"


def add_company(
    portal: Any,
    title: str,
    requisite: dict[str, Any] | None = None,
    phones: list[str] | None = None,
) -> int:
    fields: dict[str, Any] = {"TITLE": title, "COMPANY_TYPE": "CUSTOMER", "ASSIGNED_BY_ID": 1}
    if phones:
        fields["PHONE"] = [{"VALUE": p, "VALUE_TYPE": "WORK"} for p in phones]
    company_id = int(portal.call("crm.company.add", {"fields": fields})["result"])
    if requisite is not None:
        portal.call(
            "crm.requisite.add",
            {"fields": {"ENTITY_TYPE_ID": 4, "ENTITY_ID": company_id, **requisite}},
        )
    return company_id


def build_portal(
    portal: Any, cps: list[SeedCounterparty], companies: int, seed: int
) -> dict[str, Any]:
    """Pre-seed the portal; return what was seeded (for the checks)."""
    rnd = random.Random(seed)
    legal = [cp for cp in cps if cp.kind == "legal" and not cp.is_branch and cp.inn and cp.kpp]
    n_dup = min(round(companies * DUPLICATE_SHARE), len(legal))
    dups = rnd.sample(legal, n_dup)
    with_req: dict[str, int] = {}  # ref_key → company id
    without_req: dict[str, int] = {}
    for i, cp in enumerate(dups):
        title = name_variant(cp.name, rnd)
        if i % 2 == 0:
            req = {"PRESET_ID": 1, "NAME": title, "RQ_INN": cp.inn, "RQ_KPP": cp.kpp}
            with_req[cp.ref_key] = add_company(portal, title, requisite=req)
        else:
            phones = [typed_phone(cp.phones[0])] if cp.phones and rnd.random() < 0.5 else []
            without_req[cp.ref_key] = add_company(portal, title, phones=phones)
    known_inns = {cp.inn for cp in cps}
    unrelated = 0
    for n in range(companies - n_dup):
        title = f"{rnd.choice(UNRELATED_WORDS)} {rnd.choice(UNRELATED_WORDS)} {n}"
        req = None
        if n % 2 == 0:
            inn = inn10(rnd)
            while inn in known_inns:
                inn = inn10(rnd)
            known_inns.add(inn)
            req = {"PRESET_ID": 1, "NAME": title, "RQ_INN": inn, "RQ_KPP": inn[:4] + "01001"}
        add_company(portal, title, requisite=req)
        unrelated += 1
    return {"with_req": with_req, "without_req": without_req, "unrelated": unrelated}


async def read_requisites(service: Service) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    async for page in service.bitrix24.list_fast(
        "crm.requisite.list",
        filter={"ENTITY_TYPE_ID": 4},
        select=("ID", "ENTITY_ID", "RQ_INN", "RQ_KPP"),
    ):
        rows.extend(page)
    return rows


async def run(args: argparse.Namespace, state: Path) -> int:
    drain, burst = PLANS["standard"]
    assert drain is not None and burst is not None
    f = args.scale_limits
    sandbox = Sandbox(
        state,
        scale=args.counterparties,
        seed=args.seed,
        drain_per_second=drain * f,
        burst=int(burst * f),
    )
    t0 = time.perf_counter()
    cps = list(generate_counterparties(args.counterparties, seed=args.seed))
    populate_ut11(sandbox.base, cps)  # a non-empty base: the sandbox skips its own seeding
    seeded = build_portal(sandbox.portal, cps, args.companies, args.seed)
    print(
        f"setup: 1C {len(cps):,} counterparties; Bitrix24 {args.companies:,} companies = "
        f"{len(seeded['with_req']):,} duplicates with requisite + "
        f"{len(seeded['without_req']):,} duplicates without requisite + "
        f"{seeded['unrelated']:,} unrelated ({time.perf_counter() - t0:.1f} s)"
    )
    print(f"limits: standard plan ×{f:g} = drain {drain * f:g} requests/s, burst {burst * f:g}")
    endpoints = await sandbox.start()
    code = 0
    try:
        settings = demo_settings(endpoints, state, 0)
        # The client paces itself to the portal it is told about: the scaled plan.
        portal = settings.bitrix24.model_copy(
            update={"requests_per_second": drain * f, "burst": int(burst * f)}
        )
        settings = settings.model_copy(update={"bitrix24": portal})
        service = await Service.open(settings)
        try:
            code = await load_and_check(service, settings, cps, seeded, state)
        finally:
            await service.close()
    finally:
        await sandbox.stop()
    return code


async def load_and_check(
    service: Service,
    settings: Any,
    cps: list[SeedCounterparty],
    seeded: dict[str, Any],
    state: Path,
) -> int:
    # 1. the plan, as `bitrix1c plan counterparties` runs it
    plan = InitialLoadPlan()
    flow = settings.flows.counterparties
    base = settings.onec_base(flow.base)
    sync = CounterpartySync(
        store=service.store,
        bitrix24=service.bitrix24,
        onec=service.onec[base.name],
        profile=get_profile(base.profile, base.overrides),
        base=base.name,
        settings=flow,
    )
    sync.page_size = base.page_size
    sync.plan = plan
    t = time.perf_counter()
    await run_flow(service.store, FLOW, sync, trigger="plan", dry_run=True)
    plan_s = time.perf_counter() - t
    print(f"\nplan (dry run): {plan_s:.1f} s")
    for line in plan.summary_lines():
        print(line)
    csv_path, _ = plan.write(state / "report")

    # 2. the initial load, as `bitrix1c sync counterparties` runs it
    t = time.perf_counter()
    summary = await service.run(FLOW, trigger="benchmark")
    load_s = time.perf_counter() - t
    s = summary.as_dict()
    print(
        f"\ninitial load: {load_s:.1f} s, {s['read'] / load_s:.0f} records/s — "
        + ", ".join(f"{k} {v:,}" for k, v in s.items())
    )
    queue = await ReviewQueue(service.store).counts()
    groups = await ReviewQueue(service.store).by_company(limit=100_000)
    print(
        f"review queue: {queue.get('open', 0):,} open ({dict(queue)}) in {len(groups):,} "
        "company groups — one decision per group (`bitrix1c review list --by-company`)"
    )

    # read back: links (store) and requisites (portal, over HTTP)
    async with service.store.engine.connect() as conn:
        rows = (
            (await conn.execute(sa.select(links).where(links.c.entity == "counterparty")))
            .mappings()
            .all()
        )
    linked = {r["onec_ref"]: int(r["b24_id"]) for r in rows if r["b24_entity"] == "company"}
    by_match = Counter(r["match_key"] for r in rows)
    print(f"links: {len(linked):,} ({dict(by_match)})")
    requisites = await read_requisites(service)
    carriers: dict[tuple[str, str], set[int]] = defaultdict(set)
    for req in requisites:
        if req.get("RQ_INN"):
            key = (str(req["RQ_INN"]), str(req.get("RQ_KPP") or ""))
            carriers[key].add(int(req["ENTITY_ID"]))
    print(f"read back: {len(requisites):,} company requisites over HTTP")

    failed = False
    # check 1
    synced = set(linked.values())
    bad1 = {k: ids & synced for k, ids in carriers.items() if len(ids & synced) > 1}
    shared = Counter(linked.values())
    many = {cid: n for cid, n in shared.items() if n > 1}
    ok1 = not bad1
    failed |= not ok1
    print(
        f"\nCHECK 1 {'PASS' if ok1 else 'FAIL'}: INN+KPP pairs carried by two or more synced "
        f"companies: {len(bad1)} (of {len(carriers):,} pairs; {len(synced):,} synced companies)"
    )
    for (inn, kpp), ids in list(bad1.items())[:10]:
        print(f"    INN {inn} KPP {kpp or '-'}: companies {sorted(ids)}")
    if many:
        print(f"    note: {len(many)} companies are linked to several 1C records")

    # check 2
    rows_by_record = {row.record: row for row in plan.rows}
    unexplained: list[str] = []
    explained = Counter()
    for cp in cps:
        if cp.ref_key in linked:
            continue
        row = rows_by_record.get(f"{base.name}:{cp.ref_key}")
        if row is not None and row.outcome in EXPLAINED:
            explained[row.outcome] += 1
        else:
            outcome = row.outcome if row else "no plan row"
            unexplained.append(f"{cp.ref_key} «{cp.name}» INN {cp.inn}: {outcome}")
    ok2 = not unexplained
    failed |= not ok2
    print(
        f"CHECK 2 {'PASS' if ok2 else 'FAIL'}: {len(linked):,} of {len(cps):,} linked, "
        f"{sum(explained.values()):,} explained in the plan ({dict(explained)}), "
        f"{len(unexplained)} unexplained"
    )
    for line in unexplained[:10]:
        print(f"    {line}")

    # check 3
    by_ref = {cp.ref_key: cp for cp in cps}
    bad3: list[str] = []
    for ref, company_id in seeded["with_req"].items():
        cp = by_ref[ref]
        ids = carriers.get((cp.inn, cp.kpp), set())
        if ids != {company_id} or linked.get(ref) != company_id:
            bad3.append(
                f"{ref} «{cp.name}» INN {cp.inn} KPP {cp.kpp}: pre-seeded {company_id}, "
                f"carriers {sorted(ids)}, linked to {linked.get(ref)}"
            )
    ok3 = not bad3
    failed |= not ok3
    print(
        f"CHECK 3 {'PASS' if ok3 else 'FAIL'}: {len(seeded['with_req']) - len(bad3):,} of "
        f"{len(seeded['with_req']):,} pre-seeded duplicates with a requisite linked to the "
        f"pre-seeded company, not created twice"
    )
    for line in bad3[:10]:
        print(f"    {line}")

    # information: duplicates typed without requisite
    outcomes = Counter()
    for ref, company_id in seeded["without_req"].items():
        if linked.get(ref) == company_id:
            outcomes["linked to the pre-seeded company"] += 1
        elif ref in linked:
            outcomes["created a second company"] += 1
        else:
            row = rows_by_record.get(f"{base.name}:{ref}")
            outcomes[row.outcome if row else "no plan row"] += 1
    print(f"info: pre-seeded duplicates without requisite: {dict(outcomes)}")
    print(f"plan report: {csv_path}")
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks initial_load")
    parser.add_argument("--companies", type=int, default=2000)
    parser.add_argument("--counterparties", type=int, default=10000)
    parser.add_argument("--scale-limits", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--state", type=Path, default=None, help="keep the state here")
    args = parser.parse_args(argv)
    logs.configure("warning")
    if args.state is not None:
        args.state.mkdir(parents=True, exist_ok=True)
        return asyncio.run(run(args, args.state))
    with tempfile.TemporaryDirectory(prefix="bitrix1c-initial-load-") as tmp:
        return asyncio.run(run(args, Path(tmp)))
