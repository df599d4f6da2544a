"""China's 34 provincial-level divisions, as an account's ``province`` stores them (the short
name: 上海, 江苏, 内蒙古), in the order of the administrative division codes (GB/T 2260).

The account list offers them as its province filter's options: a constant, not a
``SELECT DISTINCT province`` over the accounts in scope on every request (tens of ms on 200k
accounts, for a list that hardly ever changes)."""

from __future__ import annotations

PROVINCES: tuple[str, ...] = (
    # municipalities and provinces of the north, north-east, east
    "北京",
    "天津",
    "河北",
    "山西",
    "内蒙古",
    "辽宁",
    "吉林",
    "黑龙江",
    "上海",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "江西",
    "山东",
    # centre and south
    "河南",
    "湖北",
    "湖南",
    "广东",
    "广西",
    "海南",
    # south-west and north-west
    "重庆",
    "四川",
    "贵州",
    "云南",
    "西藏",
    "陕西",
    "甘肃",
    "青海",
    "宁夏",
    "新疆",
    # Taiwan and the special administrative regions
    "台湾",
    "香港",
    "澳门",
)
