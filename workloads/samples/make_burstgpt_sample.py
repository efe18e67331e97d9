#!/usr/bin/env python3
"""Writes burstgpt-sample.csv: a small SYNTHETIC trace in the exact BurstGPT CSV format
(Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type). It is not real BurstGPT
data (none is stored with servesim); it exists for tests and documentation. Deterministic:
python3 make_burstgpt_sample.py > burstgpt-sample.csv"""
import random

rng = random.Random(20240501)
print("Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type")
t = 0
for i in range(400):
    # Bursty arrivals: mostly short gaps, sometimes a long pause (integer seconds, as BurstGPT).
    t += rng.choice([0, 0, 1, 1, 2, 3, 5, 8]) if rng.random() < 0.9 else rng.randint(20, 90)
    model = "GPT-4" if rng.random() < 0.25 else "ChatGPT"
    log = "API log" if rng.random() < 0.4 else "Conversation log"
    req = max(1, int(rng.lognormvariate(6.0, 1.0)))
    resp = 0 if rng.random() < 0.06 else max(1, int(rng.lognormvariate(5.0, 0.9)))
    print(f"{t},{model},{req},{resp},{req + resp},{log}")
