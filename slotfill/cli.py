"""slotfill command line: train, evaluate, tag, export (`slotfill`, `python -m slotfill`).

Each command parses its options, calls one library function and prints the result.
Heavy imports (TensorFlow, Keras) happen inside the commands, after parsing, so
``--help`` and option errors are instant.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

import click

from slotfill.config import (
    ACTIVATIONS,
    ARCHS,
    DECODERS,
    INTENT_ENCODERS,
    RECURRENT_INITS,
    SINGLE_DIRECTION_WINDOW,
    TRAINING_DEFAULTS,
    Config,
    arch_defaults,
)
from slotfill.errors import SlotfillError
from slotfill.limits import Limits

DEFAULTS = Config()


def _by_arch(name: str) -> str:
    """The --help default of a training option whose default depends on the arch."""
    shown = f"{TRAINING_DEFAULTS[name]:g}"
    others: dict[str, list[str]] = {}
    for arch in ARCHS:
        value = arch_defaults(arch)[name]
        if value != TRAINING_DEFAULTS[name]:
            others.setdefault(f"{value:g}", []).append(arch)
    for value, archs in others.items():
        shown += f"; {value} for {', '.join(archs)}"
    return shown


class UserError(click.ClickException):
    """A problem the user can fix; printed as one line, exit code 1."""

    def show(self, file=None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def _shown(path: os.PathLike) -> str:
    """A path as a terminal can show it: bytes that are not UTF-8 become U+FFFD, as `ls`
    shows them as "?" (a strict UTF-8 stdout cannot write them at all)."""
    return os.fsencode(path).decode("utf-8", "replace")


def friendly_errors(command: Callable) -> Callable:
    """Turn every known failure into a one-line message and a non-zero exit, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:
            # The reader of our output has gone (`| head -2`): click exits 1 without a
            # message, as a Unix tool does; there is nobody left to tell.
            raise
        except (SlotfillError, ValueError, OSError) as err:
            raise UserError(str(err)) from None
        except KeyboardInterrupt:
            raise UserError("interrupted") from None
        except Exception as err:  # the last line of defence: still no traceback for users
            if os.environ.get("SLOTFILL_DEBUG"):
                raise
            raise UserError(f"unexpected {type(err).__name__}: {err} "
                            "(set SLOTFILL_DEBUG=1 for a traceback)") from None

    return wrapper


def _quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log more detail.")
def cli(verbose: bool) -> None:
    """slotfill: slot filling and intent detection with recurrent taggers."""
    _quiet_tensorflow()
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s: %(message)s")


def _data_option(f: Callable) -> Callable:
    return click.option(
        "--data", "data_path", type=click.Path(), default=None,
        help="Dataset folder (ATIS layout or CoNLL files). Default: $SLOTFILL_DATA, "
             "else the bundled flights dataset.")(f)


def _model_option(f: Callable) -> Callable:
    return click.option("--model", "model_path", type=click.Path(), default=None,
                        help="Model folder. Default: the latest trained model.")(f)


@cli.command()
@click.option("--arch", type=click.Choice(ARCHS), default=DEFAULTS.arch, show_default=True,
              help="Recurrent architecture (bi* = bidirectional).")
@_data_option
@click.option("--out", type=click.Path(), default=None,
              help="Model folder to write. Default: models/<arch>.")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              show_default=_by_arch("epochs"))
@click.option("--patience", type=click.IntRange(min=1), default=None,
              show_default=_by_arch("patience"),
              help="Stop after this many epochs without validation F1 improvement.")
@click.option("--batch-size", type=click.IntRange(min=1), default=DEFAULTS.batch_size,
              show_default=True)
@click.option("--learning-rate", type=click.FloatRange(min=0, min_open=True),
              default=None, show_default=_by_arch("learning_rate"))
@click.option("--seed", type=int, default=DEFAULTS.seed, show_default=True)
@click.option("--layers", type=click.IntRange(min=1), default=DEFAULTS.layers, show_default=True,
              help="Number of stacked recurrent layers.")
@click.option("--hidden", type=click.IntRange(min=1), default=DEFAULTS.hidden, show_default=True,
              help="Recurrent units per direction.")
@click.option("--embedding-dim", type=click.IntRange(min=1), default=DEFAULTS.embedding_dim,
              show_default=True)
@click.option("--embeddings", type=click.Path(dir_okay=False), default=None,
              help="Pretrained word vectors: a GloVe, word2vec (text) or fastText .vec file, "
                   "read alongside the trained embedding.")
@click.option("--embeddings-words", type=click.IntRange(min=0),
              default=DEFAULTS.embeddings_words, show_default=True,
              help="Words of the vector file's first N lines that join the vocabulary when "
                   "the training data lacks them (files list frequent words first).")
@click.option("--chars/--no-chars", default=DEFAULTS.chars, show_default=True,
              help="Character-level CNN word features.")
@click.option("--char-filters", type=click.IntRange(min=1), default=DEFAULTS.char_filters,
              show_default=True, help="Filters of the character CNN (its output size).")
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), default=DEFAULTS.dropout,
              show_default=True, help="Dropout on inputs and between layers (not across time).")
@click.option("--word-dropout", type=click.FloatRange(0, 1, max_open=True),
              default=DEFAULTS.word_dropout, show_default=True,
              help="Probability of replacing a training word by <unk>.")
@click.option("--punctuation-noise", type=click.FloatRange(0, 1),
              default=DEFAULTS.punctuation_noise, show_default=True,
              help="Share of training sentences given punctuation tagged O, for typed text.")
@click.option("--name-noise", type=click.FloatRange(0, 1), default=DEFAULTS.name_noise,
              show_default=True,
              help="Share of name-like slot values (cities...) replaced by made-up names.")
@click.option("--case-noise", type=click.FloatRange(0, 1), default=DEFAULTS.case_noise,
              show_default=True,
              help="Share of training sentences written with capitals (first word, names), "
                   "read through a case mark in the character CNN; 0 (or --no-chars) = the "
                   "model ignores case.")
@click.option("--prefix-noise", type=click.FloatRange(0, 1), default=DEFAULTS.prefix_noise,
              show_default=True,
              help="Share of training sentences whose words before the first slot are "
                   "dropped, for terse typed queries ('boston to denver monday').")
@click.option("--window", type=click.IntRange(min=0), default=None,
              show_default=f"{SINGLE_DIRECTION_WINDOW} for one-direction archs and bijordan, "
                           "0 for the other bi*",
              help="Words of context on each side fed to every step (Mesnil et al. use 3).")
@click.option("--activation", type=click.Choice(ACTIVATIONS), default=DEFAULTS.activation,
              show_default=True, help="Elman/Jordan hidden activation.")
@click.option("--recurrent-init", type=click.Choice(RECURRENT_INITS),
              default=DEFAULTS.recurrent_init, show_default=True,
              help="Recurrent kernel initializer (identity + relu = IRNN).")
@click.option("--clipnorm", type=click.FloatRange(min=0), default=DEFAULTS.clipnorm,
              show_default=True, help="Global-norm gradient clipping (0 = off).")
@click.option("--ema", type=click.FloatRange(0, 1, max_open=True), default=DEFAULTS.ema,
              show_default=True,
              help="Keep a moving average of the weights with this momentum per batch (0 = off).")
@click.option("--decoder", type=click.Choice(DECODERS), default=DEFAULTS.decoder,
              show_default=True, help="Output layer: linear-chain CRF or per-token softmax.")
@click.option("--intent/--no-intent", default=DEFAULTS.intent, show_default=True,
              help="Joint intent detection head.")
@click.option("--intent-hidden", type=click.IntRange(min=0), default=DEFAULTS.intent_hidden,
              show_default=True,
              help="Size of the intent's own encoder: BiLSTM units per direction, or half the "
                   "CNN's filters (0 = pool the tagger's encoder).")
@click.option("--intent-encoder", type=click.Choice(INTENT_ENCODERS),
              default=DEFAULTS.intent_encoder, show_default=True,
              help="What reads the word features for the intent: a BiLSTM, or a convolution "
                   "over each word and its neighbours (faster; less sure of short typed "
                   "queries).")
@click.option("--intent-balance", type=click.FloatRange(0, 1), default=DEFAULTS.intent_balance,
              show_default=True,
              help="Weight intents seen n times by n^-x in the loss (0 = unweighted).")
@click.option("--intent-smoothing", type=click.FloatRange(0, 1, max_open=True),
              default=DEFAULTS.intent_smoothing, show_default=True,
              help="Label smoothing of single-label intent targets (0 = none).")
@click.option("--multi-intent", is_flag=True,
              help="Predict a set of intents (labels joined by '#') with one sigmoid each.")
@click.option("--synonyms", "synonyms_file", type=click.Path(dir_okay=False), default=None,
              help="JSON or YAML file: canonical value -> variants; a slot whose value is a "
                   "variant gets the canonical value as its normalized value.")
@click.option("--value-types", "value_types_file", type=click.Path(dir_okay=False),
              default=None,
              help="JSON or YAML file: slot name (or the part after its last dot) -> the kind "
                   "its values are normalized as (day_number, month, time, number, ...).")
@click.option("--resume", is_flag=True,
              help="Continue an interrupted run (same options) from its last epoch checkpoint.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@friendly_errors
def train(data_path: str | None, out: str | None, resume: bool, quiet: bool,
          synonyms_file: str | None, value_types_file: str | None, **options: Any) -> None:
    """Train a tagger, score it, and write a self-describing model folder."""
    from slotfill.data import load_dataset
    from slotfill.value_files import read_synonyms, read_value_types

    if synonyms_file is not None:
        options["synonyms"] = read_synonyms(synonyms_file)
    if value_types_file is not None:
        options["value_types"] = read_value_types(value_types_file)
    config = Config(**options)
    data = load_dataset(data_path, valid_fraction=config.valid_fraction, seed=config.seed)
    from slotfill.training import train as run_training

    # SIGTERM unwinds like Ctrl-C, so no temporary folder is left behind.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        result = run_training(config, data, out, resume=resume, verbose=0 if quiet else "auto")
    except KeyboardInterrupt:
        raise UserError("interrupted; the previous model (if any) is untouched. "
                        "Run the same command with --resume to continue.") from None
    click.echo(f"model written to {_shown(result.model_dir)}")
    click.echo(f"best epoch {result.best_epoch} of {result.epochs_run}  ({result.seconds:.0f} s)")
    if result.stopped_early:
        click.echo(f"stopped early: {result.stopped_early}")
    for name, scores in (("valid", result.valid), ("test", result.test)):
        if scores:
            click.echo(f"{name:<6} {_summary(scores)}")
    if result.diverged:
        raise UserError(f"training diverged ({result.stopped_early}); kept the best epoch "
                        f"({result.best_epoch}). Try a lower --learning-rate or --clipnorm.")


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _summary(scores: dict) -> str:
    parts = [f"slot_f1 {scores['slot_f1']:.2f}"]
    if scores.get("intent_accuracy") is not None:
        parts.append(f"intent_accuracy {scores['intent_accuracy']:.2f}")
    parts.append(f"sentence_accuracy {scores['sentence_accuracy']:.2f}")
    return "  ".join(parts)


def _load_tagger(model_path: str | None):
    from slotfill.tagger import Tagger
    from slotfill.threads import use_one_thread_per_op

    # Before TensorFlow's first op: the arithmetic train scored the model with, and faster.
    use_one_thread_per_op()
    return Tagger.load(model_path)


@cli.command()
@_model_option
@_data_option
@click.option("--split", type=click.Choice(["train", "valid", "test"]), default="test",
              show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@friendly_errors
def evaluate(model_path: str | None, data_path: str | None, split: str, as_json: bool) -> None:
    """Score a model on a dataset split (seqeval entity F1, intent and sentence accuracy)."""
    from slotfill.data import load_dataset
    from slotfill.evaluate import evaluate as run_evaluation
    from slotfill.evaluate import format_scores

    tagger = _load_tagger(model_path)
    data = load_dataset(data_path, valid_fraction=tagger.config.valid_fraction,
                        seed=tagger.config.seed)
    scores = run_evaluation(tagger, data[split])
    click.echo(json.dumps(scores, sort_keys=True) if as_json else format_scores(scores))


@cli.command()
@_model_option
@click.option("--file", "file", type=click.File("rb"), default=None,
              help="Read texts, one per line, from this file ('-' for stdin).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per input line.")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The date relative dates (tomorrow, next monday) count from "
                   "(YYYY-MM-DD). Default: the current date.")
@click.argument("texts", nargs=-1)
@friendly_errors
def tag(model_path: str | None, file, as_json: bool, today, texts: tuple[str, ...]) -> None:
    """Tag TEXTS (or lines of --file) and print tokens, tags and slots."""
    # Arguments that were not valid UTF-8 arrive with surrogate escapes; tag what they say.
    lines = [t.encode("utf-8", "surrogateescape").decode("utf-8", "replace") for t in texts]
    if file is not None:
        lines += _read_lines(file)
    if not lines:
        raise UserError("no text to tag: give TEXT arguments or --file")
    tagger = _load_tagger(model_path)
    empty = 0
    for result in tagger.tag(lines, today=today.date() if today else None):
        if as_json:
            click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
        else:
            empty += not result.tokens
            click.echo(result.format())
    if empty and empty == len(lines):
        sys.exit(1)


def _read_lines(file) -> list[str]:
    lines = []
    for number, raw in enumerate(file.read().splitlines(), start=1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError as err:
            raise UserError(f"{file.name}:{number}: not valid UTF-8 ({err.reason} at byte "
                            f"{err.start})") from None
    return lines


@cli.command()
@_model_option
@click.option("--out", type=click.Path(), default=None,
              help="Where to write the SavedModel. Default: <model>/saved_model.")
@click.option("--serving-base", type=click.Path(), default=None,
              help="Write the SavedModel as the next version, DIR/<n>/, the layout TF "
                   "Serving's --model_base_path expects.")
@friendly_errors
def export(model_path: str | None, out: str | None, serving_base: str | None) -> None:
    """Write a TensorFlow SavedModel that tags raw strings (plain TF can load it)."""
    from slotfill.export import export_model

    path = export_model(model_path, out, serving_base)
    click.echo(f"SavedModel written to {_shown(path)}")


@cli.command()
@_model_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 for every interface).")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="Port to listen on (0 = any free port).")
@click.option("--batch-size", type=click.IntRange(min=1), default=Limits.batch_size,
              show_default=True,
              help="Most texts tagged in one model call (1 = no batching).")
@click.option("--batch-wait-ms", type=click.FloatRange(min=0), default=Limits.batch_wait_ms,
              show_default=True,
              help="How long a request waits for others to share its model call.")
@click.option("--max-texts", type=click.IntRange(min=1), default=Limits.max_texts,
              show_default=True, help="Most texts in one request.")
@click.option("--max-tokens", type=click.IntRange(min=1), default=Limits.max_tokens,
              show_default=True, help="Most tokens in one text; longer texts are refused.")
@click.option("--max-body-bytes", type=click.IntRange(min=1), default=Limits.max_body_bytes,
              show_default=True, help="Largest request body (larger: 413).")
@click.option("--access-log", is_flag=True, help="Log every request.")
@friendly_errors
def serve(model_path: str | None, host: str, port: int, access_log: bool,
          **limits: Any) -> None:
    """Serve a model over HTTP: POST /parse, GET /health, a demo page at /, API docs at /docs.

    SIGTERM or Ctrl-C finishes the requests in flight, then exits.
    """
    from slotfill.server import serve as run_server
    from slotfill.threads import use_one_thread_per_op

    use_one_thread_per_op()
    shown = _shown(model_path) if model_path else "the latest model"

    def listening(url: str) -> None:
        click.echo(f"serving {shown} on {url} (Ctrl-C to stop)")

    run_server(model_path, host, port, Limits(**limits), access_log=access_log,
               on_listening=listening)
    click.echo("stopped")


@cli.command()
@click.option("--from", "source_format", type=click.Choice(["rasa", "snips", "conll", "atis"]),
              required=True, help="Format of SRC.")
@click.option("--to", "target_format", type=click.Choice(["atis", "conll"]), default="atis",
              show_default=True, help="Layout to write DEST in.")
@click.option("--test-fraction", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=0.1, show_default=True,
              help="Share of a Rasa or snips file's examples that becomes the test split.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the test split's draw.")
@click.argument("src", type=click.Path())
@click.argument("dest", type=click.Path())
@friendly_errors
def convert(source_format: str, target_format: str, test_fraction: float, seed: int,
            src: str, dest: str) -> None:
    """Convert training data (Rasa YAML/JSON, snips JSON, CoNLL, ATIS) into a new folder
    DEST that `train --data DEST` reads."""
    from slotfill.convert import convert as run_conversion

    counts = run_conversion(source_format, target_format, src, dest, test_fraction, seed)
    click.echo(f"wrote {_shown(dest)}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@cli.command()
@_data_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@friendly_errors
def validate(data_path: str | None, as_json: bool) -> None:
    """Check a dataset as train would, without training: exit 0 if it is usable."""
    from slotfill.validate import validate as run_validation

    report = run_validation(data_path)
    if as_json:
        click.echo(json.dumps(report.to_dict(), sort_keys=True))
    else:
        click.echo(report.format_text(), nl=False)
    if not report.usable:
        sys.exit(1)


def main() -> None:
    if sys.stdout is None:  # started with stdout closed: every result would vanish unseen
        UserError("standard output is closed; nowhere to write the results").show()
        sys.exit(1)
    try:
        cli(prog_name="slotfill")
    except (OSError, RuntimeError) as err:
        # Raised while click opens an option's file (`--file -` with stdin closed), before
        # the command, and so its friendly_errors, runs.
        UserError(str(err)).show()
        sys.exit(1)


if __name__ == "__main__":
    main()
