"""Custom Keras layers; importing this package registers them for deserialization."""

from slotfill.layers.char_cnn import CharCNN
from slotfill.layers.context_window import ContextWindow
from slotfill.layers.crf import CRF
from slotfill.layers.jordan_rnn import JordanRNN, JordanRNNCell
from slotfill.layers.known_words import KnownWords
from slotfill.layers.peephole_lstm import PeepholeLSTM, PeepholeLSTMCell
from slotfill.layers.sequence_pooling import SequencePooling
from slotfill.layers.word_cnn import WordCNN
from slotfill.layers.word_dropout import WordDropout

__all__ = [
    "CRF",
    "CharCNN",
    "ContextWindow",
    "JordanRNN",
    "JordanRNNCell",
    "KnownWords",
    "PeepholeLSTM",
    "PeepholeLSTMCell",
    "SequencePooling",
    "WordCNN",
    "WordDropout",
]
