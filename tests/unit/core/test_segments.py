from echocmr.vocab.segments import AHA_SEGMENTS, VIEW_SEGMENTS, segment_columns


def test_view_segments_are_valid_and_cover_the_lv():
    shown = set().union(*map(set, VIEW_SEGMENTS.values()))
    assert shown <= set(AHA_SEGMENTS)
    # the three views together show every segment (apical + parasternal coverage)
    assert shown == set(AHA_SEGMENTS)
    assert segment_columns("wm")[0] == "wm_01" and len(segment_columns("lge")) == 17
