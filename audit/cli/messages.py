"""The command line's own messages in English and Chinese (`--lang zh`, or `lang` in the
config file): summaries, the common errors, stage names. Messages raised deeper in the toolkit
(a file refused, a rule pack malformed) are English and shown as they are.

# NOTE: a Python table, not YAML package data: the CLI needs it before anything else loads,
# even when an error stops the command at its first option.
"""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "error": {"en": "error: ", "zh": "错误："},
    "warning": {"en": "warning: ", "zh": "警告："},
    "did_you_mean": {"en": " (did you mean {names}?)", "zh": "（是否想输入 {names}？）"},
    "or": {"en": " or ", "zh": " 或 "},
    "no_such_folder": {
        "en": "{path}: no such folder; give the folder that holds the export files",
        "zh": "{path}：文件夹不存在；请给出存放导出文件的文件夹"},
    "bad_fail_on": {"en": "--fail-on {value!r}: use one of {choices}",
                    "zh": "--fail-on {value!r}：请用 {choices} 之一"},
    "bad_date": {"en": "--as-of {value!r}: write the date as YYYY-MM-DD",
                 "zh": "--as-of {value!r}：日期请写作 YYYY-MM-DD"},
    "bad_lang": {"en": "--lang {value!r}: use en or zh", "zh": "--lang {value!r}：请用 en 或 zh"},
    "interrupted": {"en": "interrupted; nothing was left in the output folder",
                    "zh": "已中断；输出文件夹中未留下任何文件"},
    "out_of_memory": {
        "en": "out of memory; audit a smaller export or on a machine with more memory",
        "zh": "内存不足；请审计较小的导出数据，或换用内存更大的机器"},
    "internal": {
        "en": "internal error: {kind}: {detail}. This is a bug; the details are in {log}; please "
              "report it with that file and the command you ran.",
        "zh": "内部错误：{kind}：{detail}。这是程序缺陷；详情见 {log}；请附上该文件和所运行的命令报告此问题。"},
    "quiet_and_verbose": {"en": "-q and -v: give one of them", "zh": "-q 与 -v 只能选其一"},
    # run
    "run_summary": {
        "en": "{rules} rules: {passed} passed, {failed} failed, {incomplete} incomplete, "
              "{error} error, {not_evaluable} not evaluable, {not_applicable} not applicable; "
              "{violations} violation(s), {data_issues} data issue(s); findings in {folder}",
        "zh": "共 {rules} 条规则：通过 {passed} 条，未通过 {failed} 条，不完整 {incomplete} 条，"
              "出错 {error} 条，无法评估 {not_evaluable} 条，不适用 {not_applicable} 条；"
              "违规 {violations} 项，数据问题 {data_issues} 项；结果见 {folder}"},
    "run_report": {"en": "report: {paths}", "zh": "报告：{paths}"},
    # validate
    "validate_summary": {"en": "{tables} table(s), {missing} missing, {issues} data-quality "
                               "issue(s)",
                         "zh": "共 {tables} 张表，缺失 {missing} 张，数据质量问题 {issues} 项"},
    "validate_more": {"en": "  ... and {n} more", "zh": "  …… 另有 {n} 项"},
    # stress
    "stress_book": {
        "en": "book on {as_of}: {accounts} accounts ({leveraged} with debt), market value "
              "{value}, debt {debt}; {in_call} in call, {near_call} near it",
        "zh": "{as_of} 的账簿：账户 {accounts} 个（有负债 {leveraged} 个），市值 {value} 元，"
              "负债 {debt} 元；追保中 {in_call} 个，接近追保线 {near_call} 个"},
    "stress_no_capital": {
        "en": "no capital table: cannot say whether capital covers the stressed shortfall",
        "zh": "没有资本表：无法判断资本是否足以覆盖压力情景下的穿仓损失"},
    "stress_covers": {
        "en": "net capital {capital} {verdict} the stressed shortfall of {scenario} "
              "({shortfall}; {stable})",
        "zh": "净资本 {capital} 元{verdict}情景 {scenario} 的压力穿仓损失（{shortfall} 元；{stable}）"},
    "covers": {"en": "covers", "zh": "足以覆盖"},
    "does_not_cover": {"en": "does NOT cover", "zh": "不足以覆盖"},
    "stable_true": {"en": "whatever the model's settings", "zh": "无论模型参数如何"},
    "stable_false": {"en": "a verdict the model's settings can change",
                     "zh": "该结论会随模型参数改变"},
    "stable_none": {"en": "no model grid", "zh": "无模型参数网格"},
    "stress_results": {"en": "stress results in {path}", "zh": "压力测试结果见 {path}"},
    "stress_header": {
        "en": ("scenario", "in call", "static", "10-day path", "spiral (sens.)", "days @{p}"),
        "zh": ("情景", "追保账户", "静态", "10日路径", "螺旋(敏感性)", "天数@{p}")},
    "no_adv": {"en": "no ADV", "zh": "无成交量"},
    # stages of long work (progress bar and timings)
    "stage_load": {"en": "load", "zh": "加载"},
    "stage_contract": {"en": "contract", "zh": "数据契约"},
    "stage_stress": {"en": "stress", "zh": "压力测试"},
    "stage_rules": {"en": "rules", "zh": "规则"},
    "stage_report": {"en": "report", "zh": "报告"},
    "stage_write": {"en": "write", "zh": "写出结果"},
    "stage_done": {"en": "{stage}: {seconds} s", "zh": "{stage}：{seconds} 秒"},
    "stage_total": {"en": "stages: {stages}; total {seconds} s",
                    "zh": "各阶段：{stages}；合计 {seconds} 秒"},
    # config file
    "config_used": {"en": "defaults from {path}", "zh": "默认值取自 {path}"},
    "config_in_export": {
        "en": "{path} is inside the export folder {data_dir}: not applied (nothing in an export "
              "configures its audit); move it out of the folder, or run from another folder",
        "zh": "{path} 位于导出文件夹 {data_dir} 之内：不予采用（导出数据不得配置对它的审计）；"
              "请将其移出该文件夹，或在其他文件夹中运行"},
}


def text(key: str, lang: str = "en", **values) -> str:
    """The message ``key`` in ``lang`` (English where Chinese is missing), filled in."""
    entry = MESSAGES[key]
    template = entry.get(lang) or entry["en"]
    return template.format(**values) if values else template
