"""The clients table: onboarding, verification, suitability, screening and review dates, and
identity documents that pass their check characters (resident IDs, unified social credit codes,
LEIs), names, phones and bank cards."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from audit.sample.market import date_series, day_number

if TYPE_CHECKING:
    from audit.sample.builder import Builder


# Region codes that python-stdnum accepts for a resident ID, with the first birth year each is
# valid for (codes of Beijing, Tianjin and Shanghai core districts hold for every year).
REGIONS = (
    ("110101", 0), ("110102", 0), ("110105", 0), ("110106", 0), ("110107", 0), ("110108", 0),
    ("120101", 0), ("120102", 0), ("120103", 0), ("120104", 0), ("120105", 0), ("120106", 0),
    ("310101", 0), ("310104", 0), ("310105", 0), ("310106", 0), ("310107", 0), ("310109", 0),
    ("310110", 0), ("320102", 1983), ("320104", 1983), ("320105", 1983), ("320106", 1983),
    ("330102", 1983), ("330105", 1983), ("330106", 1983), ("350102", 1983), ("350103", 1983),
    ("350104", 1983), ("350203", 1983), ("370102", 1983), ("370103", 1983), ("370104", 1983),
    ("410102", 1983), ("410103", 1983), ("410105", 1983), ("420102", 1983), ("420103", 1983),
    ("420104", 1983), ("420106", 1983), ("420111", 1983), ("440103", 1983), ("440104", 1983),
    ("440105", 1983), ("440106", 1985), ("440112", 1983), ("610103", 1983), ("610104", 1983),
    ("610112", 1983), ("610113", 1983), ("210102", 1983), ("210103", 1983), ("210104", 1983),
    ("510104", 1990), ("510105", 1990), ("510106", 1990), ("510107", 1990), ("500103", 1997),
    ("500106", 1997), ("500107", 1997),
)
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
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


def gather(values: list[str] | tuple[str, ...], idx: np.ndarray) -> pl.Series:
    return pl.Series(list(values), dtype=pl.String).gather(pl.Series(idx, dtype=pl.UInt32))


def ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    y = d.astype("datetime64[Y]")
    m = d.astype("datetime64[M]")
    return (y.astype(np.int64) + 1970, (m - y).astype(np.int64) + 1, (d - m).astype(np.int64) + 1)


def ric_numbers(region: np.ndarray, birth: np.ndarray, seq: np.ndarray) -> tuple[np.ndarray, ...]:
    """Check characters of 18-digit resident IDs (ISO 7064 MOD 11-2), vectorised."""
    weights = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
    digits = np.empty((len(region), 17), dtype=np.int64)
    for i, (val, width, off) in enumerate(((region, 6, 0), (birth, 8, 6), (seq, 3, 14))):
        for k in range(width):
            digits[:, off + k] = (val // 10 ** (width - 1 - k)) % 10
    r = (digits * weights).sum(axis=1) % 11
    return np.array(list("10X98765432"))[r]


def mod97_check(chars: np.ndarray) -> np.ndarray:
    """ISO 7064 MOD 97-10 check digits for rows of alphanumeric characters (LEI)."""
    v = np.zeros(chars.shape[0], dtype=np.int64)
    for k in range(chars.shape[1]):
        col = chars[:, k]
        is_digit = np.char.isdigit(col)
        num = np.where(is_digit, np.char.encode(col).view(np.uint8).astype(np.int64) - 48,
                       np.char.encode(col).view(np.uint8).astype(np.int64) - 55)
        v = np.where(is_digit, (v * 10 + num) % 97, (v * 100 + num) % 97)
    v = (v * 100) % 97
    return 98 - v


def clients(b: Builder) -> pl.DataFrame:
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
    not_screened = np.zeros(N, dtype=bool)

    def reonboard(a: int, day: int) -> None:
        """The relationship began on ``day``: verification, disclosure and screening follow."""
        onboarded[a], verified[a], signed[a], screened[a] = day, day + 1, day + 2, day
        assessed[a] = min(max(assessed[a], day + 3), first[a])
        last_review[a] = max(last_review[a], day + 3)
    # Traps.
    for s in b.by_role["kyc_hit_ok"]:
        a = s.account
        hit[a] = True
        rating[a] = 2
        resolved[a] = first[a] if s.variant == 0 else first[a] - 12
        last_review[a] = as_of - 40
    for s in b.by_role["kyc_hit_nofin"]:
        a = s.account
        hit[a], rating[a], resolved[a], last_review[a] = True, 2, screened[a] + 9, as_of - 60
    for s in b.by_role["kyc_same_day"]:
        a = s.account
        verified[a] = signed[a] = first[a]
    # Plants.
    for s in b.by_role["kyc001"]:
        a, v = s.account, s.variant % 4
        fid = b.fin_id[b.first_fin_row[a]]
        if v in (0, 3):
            status[a], verified[a], note = 1, -1, "client identity still pending verification"
        elif v == 1:
            verified[a], note = first[a] + 4, "identity verified four days after the financing"
        else:
            status[a], verified[a], note = 2, -1, "identity verification rejected"
        b.violation("KYC-001", "financings", {"financing_id": fid}, note)
    for s in b.by_role["kyc002"]:
        a = s.account
        if s.variant % 2 == 0:
            signed[a], note = -1, "risk disclosure never signed"
        else:
            signed[a], note = first[a] + 3, "risk disclosure signed after the first financing"
        b.violation("KYC-002", "clients", {"client_id": f"C{a + 1:06d}"}, note)
    for s in b.by_role["kyc003"]:
        a, v = s.account, s.variant % 3
        hit[a], rating[a] = True, 2
        last_review[a] = as_of - 30
        if v == 0:
            resolved[a], note = -1, "screening hit never resolved, client financed"
        elif v == 1:
            resolved[a], note = first[a] + 6, "screening hit resolved after the first financing"
        else:
            resolved[a], note = -1, "screening hit never resolved"
        b.violation("KYC-003", "clients", {"client_id": f"C{a + 1:06d}"}, note)
    for s in b.by_role["kyc005"]:
        tolerance[s.account] = 3 if s.variant % 2 else 2  # C4 (with an R5 product) / C3
    for s in b.by_role["kyc006"]:
        a, v = s.account, s.variant % 3
        if v == 0:
            assessed[a], note = first[a] + 5, "risk tolerance assessed after the first financing"
        elif v == 1:
            if onboarded[a] > as_of - 900:
                reonboard(a, as_of - 900)
            assessed[a], note = as_of - 800, "risk tolerance assessment 800 days old (valid 730)"
        else:
            assessed[a], note = -1, "risk tolerance never assessed"
        b.violation("KYC-006", "clients", {"client_id": f"C{a + 1:06d}"}, note)
    for s in b.by_role["kyc007"]:
        a = s.account
        if s.variant % 2 == 0:
            rating[a], last_review[a] = 2, as_of - 400
            note = "high-risk client last reviewed 400 days ago (yearly)"
        else:
            reonboard(a, as_of - 1202)
            assessed[a] = max(assessed[a], as_of - 600)
            rating[a], last_review[a] = 1, -1
            note = "medium-risk client never reviewed since verification 1,200 days ago"
        b.violation("KYC-007", "clients", {"client_id": f"C{a + 1:06d}"}, note)
    for s in b.by_role["kyc008"]:
        a = s.account
        if s.variant % 2 == 0:
            not_screened[a], screened[a], note = True, -1, "never screened, financed"
        else:
            screened[a], note = first[a] + 2, "screened two days after the first financing"
        b.violation("KYC-008", "clients", {"client_id": f"C{a + 1:06d}"}, note)
    for s in b.by_role["kyc009"]:
        a = s.account
        pep[a], rating[a], last_review[a] = True, 2, as_of - 50
        if s.variant % 2 == 0:
            pep_ok[a], note = -1, "politically exposed client never approved by senior management"
        else:
            pep_ok[a], note = first[a] + 7, "politically exposed client approved after the first financing"
        b.violation("KYC-009", "clients", {"client_id": f"C{a + 1:06d}"}, note)
    for s in b.by_role["kyc010"]:
        a = s.account
        reonboard(a, first[a] - 90)
        rating[a], last_review[a] = 0, as_of - 20
        b.violation("KYC-010", "clients", {"client_id": f"C{a + 1:06d}"},
                        "financed 90 days after onboarding (six months of trading required)")
    for s in b.by_role["tr_assess730"]:  # an assessment exactly 730 days old
        a = s.account
        if onboarded[a] > as_of - 760:
            reonboard(a, as_of - 760)
        assessed[a] = as_of - 730
    for s in b.by_role["tr_review_exact"]:  # a high-risk review exactly a year ago
        a = s.account
        if onboarded[a] > as_of - 400:
            reonboard(a, as_of - 400)
        rating[a], last_review[a] = 2, as_of - 365
    for s in b.by_role["tr_pep_sameday"]:  # PEP approved on the day of the first financing
        a = s.account
        pep[a], rating[a], last_review[a], pep_ok[a] = True, 2, as_of - 45, first[a]
    for s in b.by_role["tr_screen_sameday"]:  # screened on the day of the first financing
        screened[s.account] = first[s.account]
    for s in b.by_role["tr_onboard180"]:  # financed exactly 180 days after onboarding
        a = s.account
        reonboard(a, first[a] - 180)
        rating[a], last_review[a] = 0, as_of - 20
    # Identity documents: resident IDs for everyone (vectorised), the rest where needed.
    oy, _, _ = ymd(onboarded)
    birth_year = oy - r.integers(22, 62, N)
    y0 = (np.array(birth_year - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64))
    by, bm, bd = ymd(y0 + r.integers(0, 365, N))
    birth_num = by * 10000 + bm * 100 + bd
    reg_codes = np.array([int(c) for c, _ in REGIONS])
    reg_start = np.array([s for _, s in REGIONS])
    ri = r.integers(0, len(REGIONS), N)
    unrestricted = np.nonzero(reg_start == 0)[0]
    ri = np.where(reg_start[ri] > birth_year, unrestricted[r.integers(0, len(unrestricted), N)], ri)
    seq = r.integers(1, 999, N)
    check = ric_numbers(reg_codes[ri], birth_num, seq)
    ric = (pl.Series(reg_codes[ri]).cast(pl.String) + pl.Series(birth_num).cast(pl.String)
           + pl.Series(seq).cast(pl.String).str.zfill(3) + pl.Series(check))
    # USCC: 9 1 + region + 8-digit organisation code + its check (GB 11714) + check (GB 32100).
    org = r.integers(10_000_000, 99_999_999, N)
    region6 = reg_codes[r.integers(0, len(REGIONS), N)]
    corp_rows = np.nonzero(b.id_type == 2)[0]
    uscc = pl.Series([None] * N, dtype=pl.String)
    if len(corp_rows):
        o = org[corp_rows]
        od = np.stack([(o // 10 ** (7 - k)) % 10 for k in range(8)], axis=1)
        oc = 11 - (od * np.array([3, 7, 9, 10, 5, 8, 4, 2])).sum(axis=1) % 11
        oc_ch = np.where(oc == 10, "X", np.where(oc == 11, "0", oc.astype(str)))
        body = [f"91{rg:06d}{x:08d}{c}" for rg, x, c in zip(region6[corp_rows], o, oc_ch)]
        alphabet = np.array(list(USCC_ALPHABET))
        vals = np.searchsorted(alphabet, np.array([list(b) for b in body]))
        total = (vals * np.array(USCC_WEIGHTS)).sum(axis=1)
        checks = alphabet[(31 - total % 31) % 31]
        uscc = uscc.scatter(corp_rows, [b + c for b, c in zip(body, checks)])
    # LEI: 4-character LOU prefix, "00", 12 characters, 2 check digits (ISO 7064 MOD 97-10).
    lei_rows = np.nonzero(b.id_type == 3)[0]
    lei = pl.Series([None] * N, dtype=pl.String)
    if len(lei_rows):
        alnum = np.array(list("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"))
        lou = np.array([list(x) for x in ("5493", "3003", "9845", "2138", "8945")])
        n_l = len(lei_rows)
        base = np.concatenate([lou[r.integers(0, 5, n_l)], np.full((n_l, 2), "0"),
                               alnum[r.integers(0, len(alnum), (n_l, 12))]], axis=1)
        chk = mod97_check(base)
        lei = lei.scatter(lei_rows, ["".join(row) + f"{c:02d}" for row, c in zip(base, chk)])
    passport = pl.lit("E") + pl.Series(r.integers(10_000_000, 99_999_999, N)).cast(pl.String)
    other = pl.lit("H") + pl.Series(r.integers(10_000_000, 99_999_999, N)).cast(pl.String)
    id_type = b.id_type
    id_number = pl.select(
        pl.when(pl.Series(id_type) == 0).then(ric).when(pl.Series(id_type) == 1).then(passport)
        .when(pl.Series(id_type) == 2).then(uscc).when(pl.Series(id_type) == 3).then(lei)
        .otherwise(other)).to_series()
    id_number = id_number.to_list()
    for s in b.by_role["kyc004"]:
        a = s.account
        good = id_number[a]
        if b.id_type[a] == 3:  # LEI: the check digits are the last two
            bad = good[:-2] + f"{(int(good[-2:]) + 1) % 100:02d}"
            note = "LEI check digits wrong"
        elif b.id_type[a] == 2:
            alphabet = USCC_ALPHABET
            bad = good[:-1] + alphabet[(alphabet.index(good[-1]) + 1) % len(alphabet)]
            note = "unified social credit code check character wrong"
        else:
            digits = "0123456789X"
            bad = good[:-1] + digits[(digits.index(good[-1]) + 3) % 11]
            note = "resident ID check digit wrong"
        id_number[a] = bad
        b.violation("KYC-004", "clients", {"client_id": f"C{a + 1:06d}"}, note)
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
    cid = b.cli_ids

    dcol = date_series

    df = pl.DataFrame({
        "client_id": cid,
        "name": name,
        "category": np.where(b.pro, "professional", "retail"),
        "id_type": np.array(["cn_resident_id", "passport", "uscc", "lei", "other"])[id_type],
        "id_number": id_number,
        "phone": phone,
        "bank_account": card,
        "onboarded_at": dcol(onboarded),
        "verification_status": np.array(["verified", "pending", "rejected"])[status],
        "verified_at": dcol(verified),
        "risk_tolerance": np.array(["C1", "C2", "C3", "C4", "C5"])[tolerance],
        "risk_assessed_at": dcol(assessed),
        "risk_disclosure_signed_at": dcol(signed),
        "screening_result": np.where(hit, "hit", np.where(not_screened, "not_screened", "clear")),
        "screened_at": dcol(screened),
        "screening_resolved_at": dcol(resolved),
        "pep": pep,
        "risk_rating": np.array(["low", "medium", "high"])[rating],
        "last_review_at": dcol(last_review),
        "pep_approved_at": dcol(pep_ok),
    })
    return df
