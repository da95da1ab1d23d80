"""The clients table and their due-diligence history: onboarding, verification, suitability,
screening and review dates, then identity documents (identity.py), names, phones and bank cards,
and one ``kyc_events`` row per event (with the re-screenings, re-assessments and re-signed
disclosures that ongoing due diligence adds after a financing). The KYC plants change a client's
record at ``plants.CLIENTS`` and its identity number at ``plants.CLIENT_IDS``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from audit.sample import plants
from audit.sample.identity import id_numbers
from audit.sample.market import date_series, day_number

if TYPE_CHECKING:
    from audit.sample.builder import Builder

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴"
)
GIVEN = (
    "伟 芳 娜 秀英 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀兰 霞 平 刚 桂英 建华 文 华 红 建国 "
    "志强 玉兰 海燕 晓明 婷 欣怡 子涵 浩然 宇航 雨萱 俊杰 思远 佳怡 国庆 丹 鹏 斌 凯 琳 颖 晨 "
    "博文 梓轩 一鸣 嘉豪 诗涵 若曦 立新 春梅 永刚 海涛 振华 雪梅 子豪 天宇"
).split()
CITIES = "北京 上海 深圳 广州 杭州 南京 成都 武汉 苏州 厦门 宁波 天津 西安 长沙 青岛".split()
BRANDS = "恒远 鼎盛 华信 泓源 嘉禾 瑞丰 汇智 博远 中科 金石 丰泽 盈泰 聚鑫 同创 远航 正和".split()
CORP_SUFFIX = ("投资管理有限公司", "资产管理有限公司", "私募基金管理有限公司", "实业有限公司",
               "贸易有限公司")
LEI_WORDS_A = "Harbor Lumen Crescent Granite Meridian Silver Northgate Jade Orchid Summit".split()
LEI_WORDS_B = "Capital Partners Holdings Investments Advisors Securities Trading Asset".split()
PHONE_PREFIXES = ("130 131 132 133 135 136 137 138 139 150 151 152 155 156 157 158 159 166 "
                  "170 176 177 178 180 181 182 183 185 186 187 188 189 191 198 199").split()


@dataclass
class Kyc:
    """Each client's KYC record while the clients table is built (``plants.CLIENTS``): dates
    as day numbers, -1 for never."""

    as_of: int
    first: np.ndarray  # the first financing (the window's first day for clients never financed)
    onboarded: np.ndarray
    verified: np.ndarray
    signed: np.ndarray  # risk disclosure
    assessed: np.ndarray  # risk tolerance
    screened: np.ndarray
    hit: np.ndarray  # screening hit
    not_screened: np.ndarray
    resolved: np.ndarray  # screening hit resolved
    pep: np.ndarray
    pep_ok: np.ndarray  # PEP approved by senior management
    rating: np.ndarray  # risk rating: 0 low, 1 medium, 2 high
    last_review: np.ndarray
    status: np.ndarray  # verification: 0 verified, 1 pending, 2 rejected
    tolerance: np.ndarray  # 0 .. 4 for C1 .. C5
    confirmed: np.ndarray  # the screening hit was a true match (resolved as confirmed)
    first_trade: np.ndarray  # first securities trade at any broker
    credit_opened: np.ndarray  # margin (credit) account opened, -1 for clients never financed
    # Ongoing due diligence after the first financing (-1 none): a repeat of each step.
    reverified: np.ndarray
    rescreened: np.ndarray
    reassessed: np.ndarray
    regrade: np.ndarray  # the grade of the re-assessment
    resigned: np.ndarray

    def reonboard(self, a: int, day: int) -> None:
        """The relationship began on ``day``: verification, disclosure and screening follow."""
        self.onboarded[a], self.verified[a], self.signed[a], self.screened[a] = day, day + 1, day + 2, day
        self.assessed[a] = min(max(self.assessed[a], day + 3), self.first[a])
        self.last_review[a] = max(self.last_review[a], day + 3)


def gather(values: list[str] | tuple[str, ...], idx: np.ndarray) -> pl.Series:
    """``values[idx]`` as a String series."""
    return pl.Series(list(values), dtype=pl.String).gather(pl.Series(idx, dtype=pl.UInt32))


def clients(b: Builder) -> pl.DataFrame:
    """The clients table, one row per account's client (draws from ``b.r_cli``)."""
    r, N = b.r_cli, b.N
    as_of = day_number(b.as_of)
    financed = b.financed
    first = np.where(financed, b.fin_first_day, day_number(b.dates[0]))
    onboarded = np.maximum(first - r.integers(200, 2200, N), day_number(date(2016, 1, 4)))
    verified = onboarded + r.integers(0, 4, N)
    signed = verified + r.integers(0, 3, N)
    lo = np.maximum(onboarded, as_of - 700)
    hi = np.where(financed, first, as_of - 1)
    assessed = lo + (r.random(N) * (hi - lo + 1)).astype(np.int64)
    u = r.random(N)
    hit = u < 0.025
    pep = r.random(N) < 0.006
    screened = onboarded.copy()
    resolved = np.where(hit, screened + r.integers(1, 30, N), -1)
    rating = np.where(hit | pep, 2, np.select([r.random(N) < 0.6, r.random(N) < 0.85], [0, 1], 2))
    interval = np.array([1825, 1095, 365])[rating]
    last_review = np.maximum(onboarded, as_of - (15 + (r.random(N) * (interval - 40)).astype(np.int64)))
    pep_ok = np.where(pep, verified + r.integers(1, 10, N), -1)
    status = np.zeros(N, dtype=np.int64)  # 0 verified, 1 pending, 2 rejected
    tolerance = np.where(financed, np.where(r.random(N) < 0.6, 3, 4), r.integers(0, 5, N))
    for s in b.stories:
        pep[s.account] = False
        pep_ok[s.account] = -1
        if s.role in b.light_roles:
            hit[s.account], resolved[s.account] = False, -1
    # Trading history and the credit account, and the ongoing due diligence (from r_hist, so
    # the draws above do not move).
    h = b.r_hist
    credit_opened = np.where(financed, np.maximum(first - h.integers(1, 21, N), onboarded), -1)
    first_trade = np.where(financed, credit_opened, onboarded) - h.integers(200, 2500, N)
    # NOTE: after the client's last draw, so a repeat (a lower grade, say) never decides a
    # later financing: these are the traps, not plants.
    last = np.full(N, -1, dtype=np.int64)
    np.maximum.at(last, b.fin_acc, b.fin_open_day)
    last = np.where(financed, np.maximum(last, first), first)
    after = financed & (last < as_of - 20)
    gap = np.maximum(as_of - last, 21)
    later = last + 1 + (h.random(N) * (gap - 1)).astype(np.int64)
    reverified = np.where(after & (h.random(N) < 0.15), later, -1)
    rescreened = np.where(after & (h.random(N) < 0.5), np.minimum(later + 3, as_of), -1)
    reassessed = np.where(after & (h.random(N) < 0.25), np.minimum(later + 7, as_of), -1)
    resigned = np.where(after & (h.random(N) < 0.1), np.minimum(later + 11, as_of), -1)
    regrade = np.clip(tolerance + h.integers(-1, 2, N), 0, 4)
    kyc = Kyc(as_of=as_of, first=first, onboarded=onboarded, verified=verified, signed=signed,
              assessed=assessed, screened=screened, hit=hit, not_screened=np.zeros(N, dtype=bool),
              resolved=resolved, pep=pep, pep_ok=pep_ok, rating=rating, last_review=last_review,
              status=status, tolerance=tolerance, confirmed=np.zeros(N, dtype=bool),
              first_trade=first_trade, credit_opened=credit_opened, reverified=reverified,
              rescreened=rescreened, reassessed=reassessed, regrade=regrade, resigned=resigned)
    # Scripted accounts keep a plain history: their stories are about other things.
    for s in b.stories:
        kyc.reverified[s.account] = kyc.rescreened[s.account] = -1
        kyc.reassessed[s.account] = kyc.resigned[s.account] = -1
    plants.run(plants.CLIENTS, b, kyc)
    b.kyc_events = kyc_events(b, kyc)
    # NOTE: the identity numbers draw after the plants, from the onboarding dates they moved.
    id_number = id_numbers(b, r, kyc.onboarded)
    plants.run(plants.CLIENT_IDS, b, id_number)
    id_type = b.id_type
    # Names, phones, bank cards.
    ind_name = gather(SURNAMES, r.integers(0, len(SURNAMES), N)) + gather(GIVEN, r.integers(0, len(GIVEN), N))
    corp_name = (gather(CITIES, r.integers(0, len(CITIES), N)) + gather(BRANDS, r.integers(0, len(BRANDS), N))
                 + gather(CORP_SUFFIX, r.integers(0, len(CORP_SUFFIX), N)))
    lei_name = (gather(LEI_WORDS_A, r.integers(0, len(LEI_WORDS_A), N)) + " "
                + gather(LEI_WORDS_B, r.integers(0, len(LEI_WORDS_B), N)) + " Ltd")
    name = pl.select(pl.when(pl.Series(id_type) == 2).then(corp_name)
                     .when(pl.Series(id_type) == 3).then(lei_name).otherwise(ind_name)).to_series()
    phone = gather(PHONE_PREFIXES, r.integers(0, len(PHONE_PREFIXES), N)) + pl.Series(
        r.integers(0, 100_000_000, N)).cast(pl.String).str.zfill(8)
    card_digits = np.concatenate([np.tile([6, 2, 2, 2], (N, 1)), r.integers(0, 10, (N, 14))], axis=1)
    # Luhn check digit over the first 18 digits.
    rev = card_digits[:, ::-1].copy()
    dbl = rev[:, 0::2] * 2
    rev[:, 0::2] = np.where(dbl > 9, dbl - 9, dbl)
    luhn = (10 - rev.sum(axis=1) % 10) % 10
    card_num = (card_digits * (10 ** np.arange(17, -1, -1, dtype=np.int64))).sum(axis=1)
    card = pl.Series(card_num).cast(pl.String) + pl.Series(luhn).cast(pl.String)
    dcol = date_series
    return pl.DataFrame({
        "client_id": b.cli_ids,
        "name": name,
        "category": np.where(b.pro, "professional", "retail"),
        "id_type": np.array(["cn_resident_id", "passport", "uscc", "lei", "other"])[id_type],
        "id_number": id_number,
        "phone": phone,
        "bank_account": card,
        "onboarded_at": dcol(kyc.onboarded),
        "pep": kyc.pep,
        "risk_rating": np.array(["low", "medium", "high"])[kyc.rating],
        "entity_type": np.where(np.isin(id_type, (2, 3)), "institution", "individual"),
        "first_trade_date": dcol(kyc.first_trade),
        "credit_account_opened_at": dcol(kyc.credit_opened),
    })


GRADES = np.array(["C1", "C2", "C3", "C4", "C5"])
RATINGS = np.array(["low", "medium", "high"])


def kyc_events(b: Builder, kyc: Kyc) -> pl.DataFrame:
    """One row per due-diligence event, oldest first per client; the version-1 columns of the
    clients table are what a platform keeping only the latest date would export instead."""
    N = b.N
    idx = np.arange(N)
    parts: list[pl.DataFrame] = []

    def add(kind: str, rows: np.ndarray, day: np.ndarray, outcome, **extra) -> None:
        rows = rows & (day >= 0)
        if not rows.any():
            return
        frame = {"client": idx[rows], "event_type": kind, "event_date": day[rows]}
        frame["outcome"] = outcome[rows] if isinstance(outcome, np.ndarray) else outcome
        for name, values in extra.items():
            frame[name] = values[rows] if isinstance(values, np.ndarray) else values
        parts.append(pl.DataFrame(frame))

    everyone = np.ones(N, dtype=bool)
    # Verification: the verified date, or the attempt that is still pending or was rejected.
    tried = np.where(kyc.status == 0, kyc.verified, np.where(kyc.status == 1, kyc.onboarded,
                                                            kyc.onboarded + 1))
    add("verification", everyone, tried, np.array(["verified", "pending", "rejected"])[kyc.status])
    add("verification", everyone, kyc.reverified, "verified")
    screened = ~kyc.not_screened
    version = lambda d: pl.Series(d).cast(pl.Int32).cast(pl.Date).dt.strftime("%Y-%m").to_numpy()  # noqa: E731
    add("screening", screened, kyc.screened, np.where(kyc.hit, "hit", "clear"), pep=kyc.pep,
        list_version=version(np.maximum(kyc.screened, 0)))
    add("screening_resolution", kyc.hit, kyc.resolved, np.where(kyc.confirmed, "confirmed", "cleared"))
    add("screening", screened, kyc.rescreened, "clear", pep=kyc.pep,
        list_version=version(np.maximum(kyc.rescreened, 0)))
    add("risk_assessment", everyone, kyc.assessed, None, risk_grade=GRADES[kyc.tolerance])
    add("risk_assessment", everyone, kyc.reassessed, None, risk_grade=GRADES[kyc.regrade])
    add("risk_disclosure", everyone, kyc.signed, "signed")
    add("risk_disclosure", everyone, kyc.resigned, "signed")
    add("pep_approval", kyc.pep, kyc.pep_ok, "approved")
    add("periodic_review", everyone, kyc.last_review, "completed", risk_rating=RATINGS[kyc.rating])
    events = pl.concat(parts, how="diagonal_relaxed").sort(["client", "event_date"], maintain_order=True)
    events = events.with_columns(
        (pl.lit("K") + (pl.int_range(pl.len()) + 1).cast(pl.String).str.zfill(7)).alias("event_id"),
        b.cli_ids.gather(events["client"].cast(pl.UInt32)).alias("client_id"),
        pl.col("event_date").cast(pl.Int32).cast(pl.Date),
    )
    for col in ("outcome", "risk_grade", "risk_rating", "list_version"):
        if col not in events.columns:
            events = events.with_columns(pl.lit(None, dtype=pl.String).alias(col))
    return events.with_columns(pl.col("pep").cast(pl.Boolean) if "pep" in events.columns
                               else pl.lit(None, dtype=pl.Boolean).alias("pep"),
                               pl.lit(None, dtype=pl.Date).alias("valid_until")).drop("client")
