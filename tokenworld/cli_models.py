"""The command line's model commands: `tokenworld steer build|learn` (trait steering vectors) and `tokenworld
adapters train` (LoRA adapters per archetype); see docs/steering.md."""

from __future__ import annotations

from tokenworld.cli_args import nonnegative_int, positive_float, positive_int


def add_model_commands(sub) -> None:
    st = sub.add_parser("steer", help="trait steering vectors for llama.cpp models (docs/steering.md)")
    stsub = st.add_subparsers(dest="action", required=True, metavar="ACTION")
    sb = stsub.add_parser("build", help="one direction per Big Five trait from contrastive persona texts, as GGUFs")
    sb.add_argument("--model", default="gemma3-270m", help="a GGUF path, or gemma3-270m (the packaged model)")
    sb.add_argument("--pairs", type=positive_int, help="contrastive pairs per trait (default: all shipped, 36)")
    sb.add_argument("--threads", type=nonnegative_int, default=0, help="CPU threads (default: all)")
    sb.add_argument("--out", required=True, metavar="DIR", help="folder for <trait>.gguf (made if missing)")
    sb.set_defaults(func=_cmd_steer_build)
    sl = stsub.add_parser("learn", help="learn one trait's direction from village decision pages (needs [train])")
    sl.add_argument("--trait", required=True, help="the Big Five trait whose direction is learned")
    sl.add_argument("--vectors", default="packaged", help="the vectors to start from (default: packaged)")
    sl.add_argument("--pages", type=positive_int, default=96, help="pages offering the trait's action (default 96)")
    sl.add_argument("--epochs", type=positive_int, default=1, help="passes over them (default 1)")
    sl.add_argument("--strength", type=positive_float, default=4.0, help="strength it is learned at (default 4)")
    sl.add_argument("--threads", type=nonnegative_int, default=0, help="CPU threads (default: all)")
    sl.add_argument("--out", required=True, metavar="DIR", help="folder for the five <trait>.gguf (made if missing)")
    sl.set_defaults(func=_cmd_steer_learn)

    ad = sub.add_parser("adapters", help="LoRA adapters per archetype for llama.cpp models (docs/steering.md)")
    adsub = ad.add_subparsers(dest="action", required=True, metavar="ACTION")
    at = adsub.add_parser("train", help="fine-tune the packaged model to act like an archetype (needs [train])")
    at.add_argument("--archetype", required=True, help="merchant, craftsperson, farmer, leader or explorer")
    at.add_argument("--out", required=True, metavar="FILE", help="the adapter to write (.gguf)")
    at.add_argument("--examples", type=positive_int, default=160, help="training pages (default 160)")
    at.add_argument("--epochs", type=positive_int, default=2, help="passes over them (default 2)")
    at.add_argument("--rank", type=positive_int, default=8, help="LoRA rank (default 8)")
    at.add_argument("--seed", type=nonnegative_int, default=1, help="village seed of the training pages (default 1)")
    at.add_argument("--held-out", type=positive_int, default=120, help="pages of another seed it is judged on")
    at.add_argument("--threads", type=nonnegative_int, default=0, help="CPU threads (default: all)")
    at.set_defaults(func=_cmd_adapters_train)


def _cmd_steer_build(args) -> int:
    from rich.progress import Progress

    from tokenworld.inference.steering import build_vectors, save_vectors

    with Progress(transient=True) as progress:
        task = progress.add_task("hidden states of the persona pairs", total=None)
        vectors = build_vectors(
            args.model,
            per_trait=args.pairs,
            threads=args.threads,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    files = save_vectors(vectors, args.out)
    print(
        f"wrote {len(files)} control vectors ({vectors.pairs} pairs a trait, {vectors.n_layer - 1} layers of "
        f"{vectors.n_embd}) to {args.out}; steer with [mind.steering] vectors = {str(args.out)!r}"
    )
    return 0


def _cmd_steer_learn(args) -> int:
    from tokenworld.bench.learned_steering import learn_trait

    f = learn_trait(
        args.trait,
        args.out,
        vectors=args.vectors,
        pages=args.pages,
        epochs=args.epochs,
        strength=args.strength,
        threads=args.threads,
        say=lambda line: print(line, flush=True),
    )
    b, a = f["before"], f["after"]
    print(
        f"wrote {len(f['files'])} control vectors to {args.out} ({args.trait} learned in {f['seconds']:.0f} s). On "
        f"{f['held_out']} held-out pages, P({f['action']}) at +{f['strength']:g} / -{f['strength']:g}: "
        f"{b['up']:.2f} / {b['down']:.2f} before, {a['up']:.2f} / {a['down']:.2f} learned. Steer with "
        f"[mind.steering] vectors = {str(args.out)!r}"
    )
    return 0


def _cmd_adapters_train(args) -> int:
    from tokenworld.bench.adapters import train_archetype_adapter

    f = train_archetype_adapter(
        args.archetype,
        args.out,
        examples=args.examples,
        epochs=args.epochs,
        rank=args.rank,
        seed=args.seed,
        held_out=args.held_out,
        threads=args.threads,
        say=lambda line: print(line, flush=True),
    )
    base, tuned = f["base"], f["adapter"]
    print(
        f"wrote {f['path']} ({f['steps']} steps, {f['train_seconds']:.0f} s; loss {f['first_loss']} -> "
        f"{f['last_loss']}). On {f['held_out']} held-out pages: P({args.archetype}'s own option) "
        f"{base['p_signature']:.2f} -> {tuned['p_signature']:.2f}, labelled answers {base['labelled_share']:.0%} -> "
        f"{tuned['labelled_share']:.0%}. Use it with [[groups]] adapter = {str(args.out)!r}"
    )
    return 0
