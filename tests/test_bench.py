"""Tests for launch.bench: measurement rows, the Markdown table, and flag errors."""

import subprocess
import sys

import pytest

from launch import bench

EXPECTED_KEYS = {'task', 'protocol', 'judge', 'T', 'modulus', 'devices', 'batch', 'batch_requested', 'repeats',
                 'first_s', 'compile_s', 'median_s', 'min_s', 'max_s', 'games_per_s', 'times_s'}


@pytest.fixture(scope='module')
def rows():
    return bench.measure_chain(['debate/random'], 'exact', 4, [8, 16], repeats=2, devices=1)


def test_measure_chain_rows(rows):
    assert [r['batch'] for r in rows] == [8, 16]
    for r in rows:
        assert EXPECTED_KEYS <= set(r)
        assert (r['protocol'], r['judge'], r['T'], r['devices']) == ('debate/random', 'exact', 4, 1)
        assert len(r['times_s']) == 2
        for key in ('first_s', 'median_s', 'min_s', 'max_s', 'games_per_s'):
            assert r[key] > 0, key
        assert r['min_s'] <= r['median_s'] <= r['max_s']
        assert r['games_per_s'] == pytest.approx(r['batch'] / r['median_s'])
        assert r['compile_s'] == pytest.approx(r['first_s'] - r['median_s'])


def test_render_markdown_one_line_per_row(rows):
    table = bench.render_markdown(rows)
    lines = table.splitlines()
    assert lines[0].startswith('| protocol | judge | T | devices | batch |')
    assert 'speedup vs 1 device' in lines[0]
    assert len(lines) == 2 + len(rows)
    assert all(line.startswith('| debate/random | exact | 4 | 1 |') for line in lines[2:])
    assert all(line.endswith('| 1.00x |') for line in lines[2:])  # 1 device against itself.


def test_speedup_against_one_device():
    base = {'protocol': 'p', 'judge': 'exact', 'T': 4, 'batch_requested': 8, 'batch': 8}
    rows = [{**base, 'devices': 1, 'games_per_s': 100.0}, {**base, 'devices': 4, 'games_per_s': 50.0},
            {**base, 'batch_requested': 16, 'batch': 16, 'devices': 4, 'games_per_s': 10.0}]
    assert [r['speedup_vs_1'] for r in bench.add_speedups(rows)] == [1.0, 0.5, None]


def test_child_env_keeps_other_xla_flags():
    env = bench.child_env(4, {'XLA_FLAGS': '--xla_foo=1 --xla_force_host_platform_device_count=2'})
    assert env['XLA_FLAGS'] == '--xla_foo=1 --xla_force_host_platform_device_count=4'
    assert bench.child_env(1, {})['XLA_FLAGS'] == '--xla_force_host_platform_device_count=1'


@pytest.mark.parametrize('flags, named', [(['--task=bogus'], '--task'),
                                          (['--task=chain', '--batch_sizes=0'], '--batch_sizes')])
def test_bad_flag_exits_with_message(flags, named):
    argv = [sys.executable, '-m', 'launch.bench', *flags]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stdout == ''
    assert proc.stderr.startswith('error: ')
    assert named in proc.stderr
