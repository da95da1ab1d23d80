"""The clients table: onboarding, verification, suitability, screening and review dates, then
identity documents (identity.py), names, phones and bank cards. The KYC plants change a client's
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
    kyc = Kyc(as_of=as_of, first=first, onboarded=onboarded, verified=verified, signed=signed,
              assessed=assessed, screened=screened, hit=hit, not_screened=np.zeros(N, dtype=bool),
              resolved=resolved, pep=pep, pep_ok=pep_ok, rating=rating, last_review=last_review,
              status=status, tolerance=tolerance)
    plants.run(plants.CLIENTS, b, kyc)
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
        "verification_status": np.array(["verified", "pending", "rejected"])[kyc.status],
        "verified_at": dcol(kyc.verified),
        "risk_tolerance": np.array(["C1", "C2", "C3", "C4", "C5"])[kyc.tolerance],
        "risk_assessed_at": dcol(kyc.assessed),
        "risk_disclosure_signed_at": dcol(kyc.signed),
        "screening_result": np.where(kyc.hit, "hit", np.where(kyc.not_screened, "not_screened", "clear")),
        "screened_at": dcol(kyc.screened),
        "screening_resolved_at": dcol(kyc.resolved),
        "pep": kyc.pep,
        "risk_rating": np.array(["low", "medium", "high"])[kyc.rating],
        "last_review_at": dcol(kyc.last_review),
        "pep_approved_at": dcol(kyc.pep_ok),
    })
