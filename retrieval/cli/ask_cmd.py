"""``trolyao ask (QUESTION | --questions FILE.jsonl) [--index DIR] [--json]``."""
from __future__ import annotations

from pathlib import Path

import click

from retrieval.cli.common import (audience_option, echo_json, index_option, json_option, model_option, read_jsonl_queries,
                                  readable, resolve_index_dir, setup_logging, user_errors)
from retrieval.schema import Answer


def render(answer: Answer) -> str:
    """Plain-text answer with readable citations ("Nguồn: Kế hoạch số 143/KH-UBND ngày 20/6/2022 …")."""
    from retrieval.answer.citations import citation_line

    lines = [answer.answer]
    for citation in answer.citations:
        lines.append(f"  • {citation_line(citation)}")
        lines.append(f"    “{citation.quote}”")
    return "\n".join(lines)


@click.command()
@click.argument("question", required=False)
@click.option("--questions", "questions_file", type=click.Path(dir_okay=False, path_type=Path),
              help='JSONL file of {"id", "text"} lines; writes one JSON line per question.')
@index_option
@model_option
@audience_option
@json_option
@user_errors
def ask(question, questions_file, index_dir, model, audience, as_json) -> None:
    """Answer a question from the directives, citing the documents (abstains when unsure).

    Without QUESTION or --questions, reads questions interactively until an empty line.
    """
    from retrieval.service import Retrieval

    if question is not None and questions_file is not None:
        raise click.UsageError("give either QUESTION or --questions FILE.jsonl, not both")
    if question is not None and not question.strip():
        raise click.UsageError("QUESTION is empty")
    question = None if question is None else readable(question)
    setup_logging(quiet=True)
    service = Retrieval(resolve_index_dir(index_dir), model, audience=audience)
    if questions_file is not None:
        records = list(read_jsonl_queries(questions_file))
        for record, answer in zip(records, service.answerer.ask_many([r["text"] for r in records])):
            echo_json({"id": record["id"], **answer.to_dict()})
        return
    if question is not None:
        answer = service.ask(question)
        echo_json(answer.to_dict()) if as_json else click.echo(render(answer))
        return
    service.warm_up()
    click.echo("Trợ lý ảo — hỏi về chỉ đạo, điều hành của UBND tỉnh (Enter trống để thoát).", err=True)
    while True:
        try:
            line = click.prompt("?", default="", show_default=False, prompt_suffix=" ", err=True)
        except (EOFError, click.Abort):
            break
        if not line.strip():
            break
        answer = service.ask(readable(line))
        echo_json(answer.to_dict()) if as_json else click.echo(render(answer) + "\n")
