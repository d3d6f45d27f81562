"""A small Python sample for LLM Lens: hover a word to see how the model tokenizes it."""

from collections import Counter


def word_frequencies(text: str) -> Counter:
    """Counts the words of a text, ignoring case and punctuation."""
    words = [w.strip(".,;:!?\"'()").lower() for w in text.split()]
    return Counter(w for w in words if w)


def mean(values: list[float]) -> float:
    if not values:
        raise ValueError("mean of an empty list")
    return sum(values) / len(values)


if __name__ == "__main__":
    sample = "The quick brown fox jumps over the lazy dog. The dog sleeps."
    for word, count in word_frequencies(sample).most_common(3):
        print(f"{word}: {count}")
    print(mean([1.5, 2.5, 3.0]))
