"""The book check printed under every model.summary(): our parameters per layer beside the book's."""


def check_against_book(model, book_params, source):
    """Print model.summary() and, beside it, the book's parameter count per layer.

    `book_params` lists the book's count for each entry of `model.layers`, in
    order (0 for pooling, flatten, dropout...). Returns True when every layer
    matches; the total printed is the sum of that list, never typed twice.
    """
    model.summary()
    ours = [layer.count_params() for layer in model.layers]
    names = [f"{layer.name} ({type(layer).__name__})" for layer in model.layers]
    width = max(len(n) for n in names + ["layer"]) + 2
    print(f"Book check against {source}:")
    print(f"  {'layer':<{width}}{'ours':>12}{'book':>12}")
    for i in range(max(len(ours), len(book_params))):
        name = names[i] if i < len(names) else "(missing)"
        our = f"{ours[i]:,}" if i < len(ours) else "-"
        book = f"{book_params[i]:,}" if i < len(book_params) else "-"
        flag = "" if our == book else "   <-- differs"
        print(f"  {name:<{width}}{our:>12}{book:>12}{flag}")
    total_ours, total_book = sum(ours), sum(book_params)
    print(f"  {'total':<{width}}{total_ours:>12,}{total_book:>12,}")
    matches = ours == list(book_params)
    if matches:
        print(f"  MATCH: all {len(ours)} layers and the total ({total_book:,} parameters) equal the book's.")
    else:
        print(f"  MISMATCH: this model has {total_ours:,} parameters, the book's has {total_book:,}; "
              "see the rows marked 'differs'.")
    return matches
