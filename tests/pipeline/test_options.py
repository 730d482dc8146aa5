"""The launcher's options object: each view made once, sharing the options' values as Beam's views do."""

from __future__ import annotations

import copy
import pickle

from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions, TypeOptions

from pipeline.options import NewsflowOptions

ARGV = ["--seeds=seeds", "--output=lake", "--runner=FnApiRunner", "--no_pipeline_type_check"]


def test_a_view_is_made_once_and_reads_and_writes_the_options_values():
    options = NewsflowOptions(ARGV)
    standard = options.view_as(StandardOptions)
    assert options.view_as(StandardOptions) is standard
    assert standard.runner == "FnApiRunner" and options.view_as(TypeOptions).pipeline_type_check is False
    assert options.view_as(NewsflowOptions).seeds == ["seeds"]
    # Written through one view, read through another and through a fresh Beam view.
    standard.streaming = True
    assert options.view_as(StandardOptions).streaming is True
    assert PipelineOptions.view_as(options, StandardOptions).streaming is True
    assert options.get_all_options()["streaming"] is True


def test_copies_and_pickles_carry_the_values_not_the_views():
    options = NewsflowOptions(ARGV)
    options.view_as(StandardOptions).streaming = True
    for other in (copy.deepcopy(options), pickle.loads(pickle.dumps(options))):
        assert "_views" not in other.__dict__
        assert other.view_as(StandardOptions).streaming is True
        assert other.view_as(StandardOptions) is not options.view_as(StandardOptions)
        assert other.get_all_options() == options.get_all_options()
    # What Beam builds from them is the same as from its own options object.
    assert options.get_all_options() == PipelineOptions(ARGV + ["--streaming"]).get_all_options()
