"""Voice notes → text at the channel edge, before the dialogue: offline Whisper base (faster-whisper).

transcriber.py transcribes (limits, one run at a time, a bounded queue); model.py builds the model
folder at set-up; bench.py measures it (`make bench`). The `voice` extra and the model are set up
when TROLYAO_VOICE=1.
"""
