"""The cadrebot CLI end to end on the shipped documents: JSON shapes, answers, exit codes."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.runtime import Runtime

runner = CliRunner()


@pytest.fixture
def cli(shipped_index, embedder, monkeypatch):
    """Run cadrebot against the shipped index, sharing the session's model."""
    monkeypatch.setattr(Runtime, "embedder", property(lambda self: embedder))
    monkeypatch.setenv("DOCUMENTS_DIR", str(shipped_index.documents_dir))
    monkeypatch.setenv("INDEX_DIR", str(shipped_index.index_dir))

    def invoke(*args: str, stdin: str | None = None):
        return runner.invoke(app, list(args), input=stdin)
    return invoke


def test_search_json_ranks_article_11_of_decree_73_first(cli):
    result = cli("search", "nghi dinh 73 bao ve can bo nhu the nao", "--json", "--k", "3")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    first = data["results"][0]
    assert data["query"] == "nghi dinh 73 bao ve can bo nhu the nao"
    assert (first["number"], first["article"]) == ("73/2023/NĐ-CP", "11")
    assert set(first) == {"rank", "score", "source", "title", "number", "article", "clause",
                          "citation", "text"}
    assert first["source"] == "nghi-dinh-73-2023-trich.txt"
    assert "Điều 11" in first["citation"]


def test_search_batch_outputs_one_json_line_per_query_in_order(cli):
    queries = ["dieu 15 luat vien chuc", "", "khoản 2 điều 53 luật cán bộ công chức"]
    result = cli("search", "--batch", "-", "--json", stdin="\n".join(queries) + "\n")
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.output.strip().splitlines()]
    assert [x["query"] for x in lines] == [queries[0], queries[2]]
    assert lines[0]["results"][0]["article"] == "15"
    assert lines[1]["results"][0]["article"] == "53"


def test_ask_quotes_and_cites_with_excerpt_note(cli):
    result = cli("ask", "Nghị định 73 bảo vệ cán bộ dám nghĩ, dám làm như thế nào?", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["found"] is True
    assert data["citations"][0]["citation"].endswith("Điều 11 Nghị định 73/2023/NĐ-CP")
    assert "bản trích" in data["answer"]
    # The quoted clause is verbatim text of the shipped decree.
    assert "không bị xử lý trách nhiệm" in data["answer"]


def test_ask_out_of_scope_says_not_covered(cli):
    result = cli("ask", "Giá vàng hôm nay?", "--json")
    data = json.loads(result.output)
    assert data["found"] is False and data["citations"] == []
    assert "chưa có nội dung" in data["answer"]


def test_ask_cites_expired_law_as_no_longer_in_force(cli):
    result = cli("ask", "khoản 2 điều 53 luật cán bộ công chức")
    assert result.exit_code == 0
    assert "Khoản 2 Điều 53 Luật 22/2008/QH12" in result.output
    assert "không còn hiệu lực" in result.output


@pytest.mark.parametrize("question", ["", "   ", "😀😀😀", "x" * 5000])
def test_bad_questions_exit_2_with_a_message(cli, question):
    result = cli("ask", question)
    assert result.exit_code == 2
    assert "Lỗi:" in result.output


def test_chat_reads_questions_from_stdin(cli):
    result = cli("chat", stdin="nghi dinh 73 bao ve can bo the nao\n\nGiá vàng hôm nay?\n")
    assert result.exit_code == 0, result.output
    assert "Điều 11 Nghị định 73/2023/NĐ-CP" in result.output
    assert "chưa có nội dung" in result.output


def test_missing_documents_folder_exits_1(cli, tmp_path):
    result = cli("index", "--documents", str(tmp_path / "nope"), "--index", str(tmp_path / "ix"))
    assert result.exit_code == 1
    assert "Không tìm thấy thư mục" in result.output


def test_search_without_index_exits_1(cli, tmp_path):
    result = cli("search", "cán bộ", "--index", str(tmp_path / "empty"))
    assert result.exit_code == 1
    assert "cadrebot index" in result.output


def test_stats_lists_documents_with_status(cli):
    result = cli("stats")
    assert result.exit_code == 0
    assert "Văn bản: 11" in result.output
    assert "Nghị định 73/2023/NĐ-CP" in result.output and "bản trích" in result.output


def test_chat_is_a_channel_where_every_command_works(cli):
    result = cli("chat", stdin="/docs\nnghi dinh 73 bao ve can bo the nao\n/dieu\n/nguon\n/dieu 15 luật viên chức\n"
                               "/help\n/stats\n")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Văn bản trong kho:" in out and "Nghị định 73/2023/NĐ-CP" in out
    assert "Khoản 1 Điều 11 Nghị định 73/2023/NĐ-CP:" in out
    assert "Điều 11 Nghị định 73/2023/NĐ-CP\nĐiều 11. Biện pháp bảo vệ cán bộ" in out  # the bare /dieu
    assert "Nguồn khác:" in out and "Điều 15 Luật 58/2010/QH12" in out
    assert "/reindex — lập chỉ mục lại" in out  # the local user is the admin
    assert "Câu hỏi: 1 " in out  # /stats: this session's question only


def test_index_into_an_existing_file_is_a_clear_error(cli, tmp_path):
    file = tmp_path / "f"
    file.touch()
    for command in (["index", "--index", str(file)], ["search", "cán bộ", "--index", str(file)]):
        result = cli(*command)
        assert result.exit_code == 1, result.output
        assert "là một tệp, không phải thư mục" in result.output
        assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("k", ["0", "-5", "101"])
def test_k_out_of_range_is_refused_in_vietnamese(cli, k):
    result = cli("search", "cán bộ", "--k", k)
    assert result.exit_code == 2
    assert f"--k phải là số từ 1 đến 100 (đã nhập {k})" in result.output


@pytest.mark.parametrize("args,said", [(["search", "x", "--k", "abc"], "giá trị không hợp lệ cho --k"),
                                       (["ask"], "thiếu QUESTION"), (["index", "--nope"], "không có tùy chọn --nope"),
                                       (["nosuch"], "không có lệnh “nosuch”")])
def test_usage_errors_are_said_in_vietnamese(cli, args, said):
    result = cli(*args)
    assert result.exit_code == 2 and f"Lỗi: {said}." in result.output
