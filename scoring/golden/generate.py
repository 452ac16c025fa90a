#!/usr/bin/env python3
"""Generates the rewardstream golden vectors (scoring/golden/*.json) from the spec, independently of the Java code.

Standard library only. Deliberately naive and direct: two-pass mean/variance over the full history instead of
Welford, exp(-d) - 1 + d instead of expm1, plain loops. Inputs are dyadic numbers (exact in float32 and float64)
so that float32 Avro log-probs give the same results.

Run from anywhere:  python3 scoring/golden/generate.py
The hand-written file defaults_hand.json is NOT generated (its numbers were computed by hand).
"""
import json
import math
import os

HERE = os.path.dirname(os.path.abspath(__file__))

DEFAULTS = {
    "scoring.kl.estimator": "k1", "scoring.kl.coef": 0.05, "scoring.kl.clamp": 10.0,
    "scoring.missing.eos.penalty": 0.0, "scoring.normalization": "none", "scoring.score.clip": "off",
}


def kl_token(est, d, clamp):
    if est == "k1":
        v = d
    elif est == "k2":
        v = d * d / 2.0
    elif est == "k3":
        # exp overflows only for d < -709; none of the inputs go there
        v = math.exp(-d) - 1.0 + d
    elif est == "abs":
        v = abs(d)
    else:
        raise ValueError(est)
    return min(clamp, max(-clamp, v))


def mean_std(xs):
    """Mean and sample std (n - 1), std 0 for n < 2. Two passes."""
    n = len(xs)
    m = sum(xs) / n
    if n < 2:
        return m, 0.0
    return m, math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1))


def ensemble_mean_std(xs):
    """Mean and POPULATION std (divide by n) of ensemble members: the uncertainty of a uniform mixture of the
    members, and what tf.math.reduce_std / numpy.std compute. Two passes."""
    n = len(xs)
    m = sum(xs) / n
    return m, math.sqrt(sum((x - m) ** 2 for x in xs) / n)


def shape(cfg, inp, static_norm, history):
    """history: list of all raw scores of the model version so far (mutated for running normalization)."""
    c = dict(DEFAULTS)
    c.update(cfg)
    lp, lr = inp["policy_logprobs"], inp["reference_logprobs"]
    beta = inp["beta"]
    flags = []
    if lr is None:
        kl = [0.0] * len(lp)
        flags.append("NO_REFERENCE")
    else:
        kl = [kl_token(c["scoring.kl.estimator"], a - b, float(c["scoring.kl.clamp"])) for a, b in zip(lp, lr)]
    s = inp["score"]
    if inp["finish_reason"] != "STOP":
        flags.append("MISSING_EOS")
        s -= float(c["scoring.missing.eos.penalty"])
    out = {}
    norm = c["scoring.normalization"]
    if norm == "running":
        history.append(inp["score"])  # the current raw score is included before whitening
        m, sd = mean_std(history)
        s = (s - m) / sd if sd > 0 else s - m
        out_stats = {"count": len(history), "mean": m, "m2": sum((x - m) ** 2 for x in history)}
    elif norm == "static":
        s = (s - static_norm["mean"]) / static_norm["std"]
    clip = c["scoring.score.clip"]
    if clip != "off":
        s = min(float(clip), max(-float(clip), s))
    tr = [-beta * k for k in kl]
    tr[-1] += s
    klsum = sum(kl)
    out.update({"kl_per_token": kl, "kl": klsum, "shaped_score": s, "token_rewards": tr,
                "reward": s - beta * klsum, "flags": sorted(flags)})
    if norm == "running":
        out["running_stats"] = out_stats
    return out


def shape_case(name, cfg, inputs, static_norm=None, prior_scores=None):
    """prior_scores: raw scores seen before this case (initial running stats are derived from them)."""
    history = list(prior_scores or [])
    case = {"name": name, "config": cfg}
    if static_norm:
        case["static_normalization"] = static_norm
    if prior_scores:
        m, _ = mean_std(history)
        case["initial_running_stats"] = {"count": len(history), "mean": m, "m2": sum((x - m) ** 2 for x in history)}
    case["steps"] = [{"input": i, "expected": shape(cfg, i, static_norm, history)} for i in inputs]
    return case


def inp(score, lp, lr, finish="STOP", beta=0.05):
    return {"score": score, "policy_logprobs": lp, "reference_logprobs": lr, "finish_reason": finish, "beta": beta}


def write(fname, description, kind, cases):
    with open(os.path.join(HERE, fname), "w") as f:
        json.dump({"description": description, "kind": kind, "cases": cases}, f, indent=1)
        f.write("\n")


LP = [-0.5, -2.0, -1.25, -3.0]
LR = [-1.0, -1.0, -1.5, -0.75]  # d = [0.5, -1.0, 0.25, -2.25]


# ---- routing and built-in verifiers (ScoreRouter, Verifiers) ----

def final_answer(text):
    """Last \\boxed{..} (balanced), else after the last ####, else after the last 'answer is'/'answer:', else the
    last non-blank line; trimmed, one trailing period dropped."""
    import re
    found = None
    i = text.rfind("\\boxed{")
    if i >= 0:
        depth, j = 1, i + len("\\boxed{")
        start = j
        while j < len(text):
            if text[j] == "{":
                depth += 1
            elif text[j] == "}":
                depth -= 1
                if depth == 0:
                    found = text[start:j]
                    break
            j += 1
    if found is None and "####" in text:
        found = text[text.rfind("####") + 4:]
    if found is None:
        ms = list(re.finditer(r"answer\s*(?:is|:)", text, re.IGNORECASE))
        if ms:
            found = text[ms[-1].end():]
    if found is None:
        lines = [l for l in text.splitlines() if l.strip()]
        found = lines[-1] if lines else ""
    a = found.strip()
    if a.endswith("."):
        a = a[:-1].strip()
    return a


def as_number(s):
    import re
    from decimal import Decimal, InvalidOperation
    t = s.strip()
    if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?", t):
        t = t.replace(",", "")
    if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", t):
        return None
    try:
        return Decimal(t)
    except InvalidOperation:
        return None


def exact_answer(text, ref):
    a, b = as_number(final_answer(text)), as_number(ref)
    if a is not None and b is not None:
        return 1.0 if a == b else 0.0
    return 1.0 if final_answer(text).strip().casefold() == ref.strip().casefold() else 0.0


def routed(cfg, metadata, text, tokens, model_score, model_heads):
    """Returns (score, source_scores or None, rejected reason or None)."""
    import re
    key = cfg.get("scoring.route.key", "task")
    task = metadata.get(key)
    route = cfg.get("scoring.routes.%s.weights" % task) if task is not None else None
    if route is None:
        route = cfg.get("scoring.routes.default.weights", "model=1")
    sources = [(p.split("=")[0].strip(), float(p.split("=")[1])) for p in route.split(",")]
    if sources == [("model", 1.0)]:
        return model_score, model_heads, None
    scores, total = {}, 0.0
    for name, w in sources:
        if name == "model":
            v = model_score
        elif name.startswith("model."):
            v = model_heads[name[6:]]
        elif name == "exact_answer":
            ref = metadata.get("reference_answer")
            if ref is None or not ref.strip():
                return None, None, "NO_REFERENCE_ANSWER"
            if text is None:
                return None, None, "NO_RESPONSE_TEXT"
            v = exact_answer(text, ref)
        elif name == "format":
            if text is None:
                return None, None, "NO_RESPONSE_TEXT"
            v = 1.0 if re.search(cfg["scoring.verifier.format.regex"], text) else 0.0
        elif name == "length":
            v = -float(max(0, tokens - int(cfg.get("scoring.verifier.length.max.tokens", 512))))
        else:
            raise ValueError(name)
        scores[name] = v
        total += w * v
    return total, scores, None


def verifier_case(name, cfg, metadata, text, tokens=4, model_score=0.75, model_heads=None):
    score, sources, rejected = routed(cfg, metadata, text, tokens, model_score, model_heads)
    exp = {"rejected": rejected} if rejected else {"score": score, "source_scores": sources}
    return {"name": name, "config": cfg, "metadata": metadata, "response_text": text, "response_tokens": tokens,
            "model_score": model_score, "model_heads": model_heads, "expected": exp}


def main():
    write("estimators.json", "Each KL estimator on the same response (d = [0.5, -1, 0.25, -2.25]), no clamping in effect.", "shape",
          [shape_case("estimator_" + e, {"scoring.kl.estimator": e, "scoring.kl.coef": 0.1},
                      [inp(1.5, LP, LR, beta=0.1), inp(-0.75, [-0.125], [-0.625], beta=0.1)])
           for e in ["k1", "k2", "k3", "abs"]])

    big_lp, big_lr = [-0.25, -20.0, -1.0, -4.0], [-30.0, -0.5, -1.0, -1.0]  # d = [29.75, -19.5, 0, -3]
    write("clamping.json", "Per-token KL values clamped to [-kl_clamp, kl_clamp].", "shape", [
        shape_case("k1_clamp_default_10", {"scoring.kl.estimator": "k1"}, [inp(0.5, big_lp, big_lr)]),
        shape_case("k2_clamp_5", {"scoring.kl.estimator": "k2", "scoring.kl.clamp": 5.0}, [inp(0.5, big_lp, big_lr)]),
        shape_case("k3_clamp_default_10", {"scoring.kl.estimator": "k3"}, [inp(0.5, big_lp, big_lr)]),
        shape_case("abs_clamp_2_5", {"scoring.kl.estimator": "abs", "scoring.kl.clamp": 2.5}, [inp(0.5, big_lp, big_lr)]),
    ])

    write("score_clip.json", "s' clipped to [-score_clip, score_clip] after normalization.", "shape", [
        shape_case("clip_2", {"scoring.score.clip": 2.0},
                   [inp(7.5, LP, LR), inp(-3.0, LP, LR), inp(1.0, LP, LR), inp(2.0, LP, LR)]),
        shape_case("static_then_clip_1", {"scoring.normalization": "static", "scoring.score.clip": 1.0},
                   [inp(4.5, LP, LR), inp(-0.5, LP, LR), inp(1.0, LP, LR)], static_norm={"mean": 0.5, "std": 2.0}),
    ])

    write("missing_eos.json", "finish_reason != STOP: flag MISSING_EOS always, subtract the penalty when configured.", "shape", [
        shape_case("penalty_1", {"scoring.missing.eos.penalty": 1.0},
                   [inp(2.0, LP, LR, "STOP"), inp(2.0, LP, LR, "LENGTH"), inp(2.0, LP, LR, "ABORT")]),
        shape_case("penalty_off_flag_only", {}, [inp(2.0, LP, LR, "LENGTH"), inp(2.0, LP, LR, "STOP")]),
        shape_case("penalty_then_clip", {"scoring.missing.eos.penalty": 0.5, "scoring.score.clip": 1.0},
                   [inp(-0.75, LP, LR, "LENGTH"), inp(1.25, LP, LR, "LENGTH")]),
    ])

    write("static_normalization.json", "s' = (s1 - mean) / std with the manifest's normalization.", "shape", [
        shape_case("mean_0_5_std_2", {"scoring.normalization": "static"},
                   [inp(4.5, LP, LR), inp(-1.5, LP, LR), inp(0.5, LP, LR)], static_norm={"mean": 0.5, "std": 2.0}),
        shape_case("with_eos_penalty", {"scoring.normalization": "static", "scoring.missing.eos.penalty": 1.0},
                   [inp(3.0, LP, LR, "LENGTH")], static_norm={"mean": -1.0, "std": 0.5}),
    ])

    write("running_normalization.json",
          "Running normalization: the raw score s is added to the model version's stats first (Welford; sample variance), "
          "then s1 (s after the EOS penalty) is whitened with the updated stats: (s1 - mean) / std, or s1 - mean when std = 0. "
          "Stats are threaded through the steps of a case.", "shape", [
              shape_case("from_empty", {"scoring.normalization": "running"},
                         [inp(s, LP, LR) for s in [1.0, 3.0, 2.0, -4.0, 10.5, 2.0]]),
              shape_case("from_prior_stats", {"scoring.normalization": "running"},
                         [inp(0.25, LP, LR), inp(5.0, LP, LR)], prior_scores=[1.0, -2.0, 0.5, 4.0, 3.5]),
              shape_case("eos_penalty_and_clip", {"scoring.normalization": "running", "scoring.missing.eos.penalty": 2.0,
                                                  "scoring.score.clip": 1.5},
                         [inp(1.0, LP, LR, "LENGTH"), inp(3.0, LP, LR), inp(-1.0, LP, LR, "ABORT"), inp(8.0, LP, LR)]),
          ])

    write("no_reference.json", "reference_logprobs null: every KL term 0, flag NO_REFERENCE.", "shape", [
        shape_case("k1", {}, [inp(1.25, LP, None)]),
        shape_case("k3_missing_eos", {"scoring.kl.estimator": "k3", "scoring.missing.eos.penalty": 0.5},
                   [inp(1.25, [-1.0, -2.0], None, "LENGTH")]),
    ])

    # adaptive beta
    def adaptive(name, beta0, target, horizon, window, kls, controller="adaptive"):
        beta, count, ksum, used = beta0, 0, 0.0, []
        for k in kls:
            used.append(beta)
            if controller == "fixed":
                continue
            count += 1
            ksum += k
            if count == window:
                err = min(0.2, max(-0.2, (ksum / count) / target - 1.0))
                beta = beta * (1.0 + err * count / horizon)
                count, ksum = 0, 0.0
        return {"name": name,
                "config": {"scoring.kl.controller": controller, "scoring.kl.coef": beta0, "scoring.kl.target": target,
                           "scoring.kl.horizon": horizon, "scoring.kl.window": window},
                "sequence_kls": kls,
                "expected": {"betas_used": used, "final_state": {"beta": beta, "count": count, "kl_sum": ksum}}}

    write("adaptive_beta.json",
          "KL controller: betas_used[i] is the beta for reward i (the state before observing its KL); after each full window "
          "beta *= 1 + clip(mean KL / target - 1, -0.2, 0.2) * window / horizon.", "adaptive_beta", [
              adaptive("windows_above_below_and_partial", 0.1, 6.0, 100, 4,
                       [6.0, 7.0, 8.0, 9.0, 5.0, 5.0, 6.0, 4.0, 0.0, 0.0, 0.0, 0.0, 6.5, 6.0, 5.5, 7.0, 3.0, 3.0]),
              adaptive("window_1_horizon_10", 0.05, 2.0, 10, 1, [2.0, 4.0, 1.0, 2.2, -1.0]),
              adaptive("fixed_never_changes", 0.05, 6.0, 100, 2, [100.0, 100.0, 0.0, 0.0, 3.0]),
          ])

    def adv(name, method, rewards, eps=1e-6):
        n = len(rewards)
        m, sd = mean_std(rewards)
        if method == "grpo":
            a = [0.0 if sd + eps == 0 else (r - m) / (sd + eps) for r in rewards]
        elif method == "rloo":
            a = [0.0] * n if n == 1 else [r - (sum(rewards) - r) / (n - 1) for r in rewards]
        else:
            a = list(rewards)
        return {"name": name, "method": method, "eps": eps, "rewards": rewards,
                "expected": {"advantages": a, "mean": m, "std": sd}}

    R = [1.0, 2.0, 4.0, -0.5, 3.5]
    write("group_advantages.json",
          "grpo: (r - mean) / (sample std + eps), std 0 for n = 1; rloo: r - mean of the others, 0 for n = 1; none: r.",
          "group_advantage", [
              adv("grpo_5", "grpo", R), adv("rloo_5", "rloo", R), adv("none_5", "none", R),
              adv("grpo_eps_0_1", "grpo", [0.0, 1.0], eps=0.1),
              adv("grpo_single", "grpo", [3.0]), adv("rloo_single", "rloo", [3.0]), adv("none_single", "none", [3.0]),
              adv("grpo_all_equal", "grpo", [2.0, 2.0, 2.0]), adv("rloo_all_equal", "rloo", [2.0, 2.0, 2.0]),
              adv("rloo_pair", "rloo", [1.0, -1.0]),
          ])

    def ens(name, members, lam):
        m, sd = ensemble_mean_std(members)
        return {"name": name, "type": "ensemble", "config": {"scoring.uncertainty.penalty": lam}, "members": members,
                "expected": {"score": m - lam * sd, "mean": m, "std": sd}}

    def heads(name, manifest_heads, override, head_scores):
        w = dict(manifest_heads)
        w.update(override)
        cfg = {}
        if override:
            cfg["scoring.head.weights"] = ",".join("%s:%r" % kv for kv in override.items())
        return {"name": name, "type": "heads", "config": cfg,
                "manifest_heads": [{"name": k, "weight": v} for k, v in manifest_heads.items()],
                "head_scores": head_scores,
                "expected": {"score": sum(w[k] * head_scores[k] for k in w)}}

    write("score_combination.json",
          "Score s from several heads (weighted sum; config weights override the manifest's) and from ensembles "
          "(mean - lambda * population std, i.e. divide by the number of members; std reported as uncertainty).",
          "score_combination", [
              heads("manifest_weights", {"helpful": 1.0, "harmless": 0.5}, {}, {"helpful": 2.0, "harmless": -1.0}),
              heads("config_override", {"helpful": 1.0, "harmless": 0.5}, {"harmless": 2.0}, {"helpful": 2.0, "harmless": -1.0}),
              ens("ensemble_lambda_0", [1.0, 2.0, 4.5], 0.0),
              ens("ensemble_lambda_0_5", [1.0, 2.0, 4.5], 0.5),
              ens("ensemble_single_member", [1.25], 1.0),
              ens("ensemble_two_members_population_std", [-1.5, 0.5], 1.0),
              ens("ensemble_five_negative_lambda_2", [-3.0, -1.0, -0.5, 0.25, 2.0], 2.0),
          ])


    math = {"scoring.routes.math.weights": "exact_answer=1"}
    mixed = {"scoring.routes.chat.weights": "model=0.5,format=2,length=0.25",
             "scoring.verifier.format.regex": "^Answer: .+$", "scoring.verifier.length.max.tokens": "6"}
    write("verifiers.json",
          "Routing by task and the built-in verifiers: the score is the weighted sum of the route's sources; "
          "source_scores are the unweighted source scores (Reward.head_scores); a route of exactly model=1 keeps the "
          "model's score and heads.", "verifier", [
              verifier_case("exact_integer", math, {"task": "math", "reference_answer": "19"}, "19"),
              verifier_case("exact_wrong", math, {"task": "math", "reference_answer": "20"}, "19"),
              verifier_case("numeric_trailing_zero_and_period", math, {"task": "math", "reference_answer": "2.5"},
                            "The answer is 2.50."),
              verifier_case("numeric_thousands_after_hashes", math, {"task": "math", "reference_answer": "1000"},
                            "First 600, then 400 more.\n#### 1,000"),
              verifier_case("numeric_exponent", math, {"task": "math", "reference_answer": "1000"}, "answer: 1e3"),
              verifier_case("boxed_text", math, {"task": "math", "reference_answer": "\\frac{1}{2}"},
                            "so x = \\boxed{\\frac{1}{2}} and done"),
              verifier_case("last_boxed_wins", math, {"task": "math", "reference_answer": "7"},
                            "try \\boxed{6}, no: \\boxed{7}"),
              verifier_case("case_folded_text", math, {"task": "math", "reference_answer": " paris"},
                            "Answer: PARIS"),
              verifier_case("last_line", math, {"task": "math", "reference_answer": "42"},
                            "Let me think.\n6*7 is\n42.0\n\n"),
              verifier_case("verbose_wrong", math, {"task": "math", "reference_answer": "21"},
                            "The answer is probably 21, let me double check..."),
              verifier_case("no_reference_answer", math, {"task": "math"}, "19"),
              verifier_case("no_response_text", math, {"task": "math", "reference_answer": "19"}, None),
              verifier_case("unrouted_task_gets_model", math, {"task": "chat", "reference_answer": "19"}, "18"),
              verifier_case("no_task_gets_model", math, {}, "18", model_heads={"helpful": 1.5}),
              verifier_case("route_key", dict(math, **{"scoring.route.key": "dataset"}),
                            {"dataset": "math", "task": "chat", "reference_answer": "3"}, "3"),
              verifier_case("mixed_format_and_length_over", mixed, {"task": "chat"}, "Answer: yes", tokens=10),
              verifier_case("mixed_no_format_length_at_limit", mixed, {"task": "chat"}, "yes", tokens=6),
              verifier_case("default_route_with_head", {"scoring.routes.default.weights": "model.helpful=2,model=-1"},
                            {}, "x", model_score=0.5, model_heads={"helpful": 1.5, "harmless": -0.25}),
          ])


if __name__ == "__main__":
    main()
