"""8.3 L-BFGS (1st edition) against SGD (2nd edition): time to reach the same loss.

    python -m benchmarks.ch8_lbfgs_vs_sgd                # 128 pixels high, 1,000 SGD steps
    python -m benchmarks.ch8_lbfgs_vs_sgd --quick        # 64 pixels, 20 SGD steps

Same image pair, VGG19 weights, loss weights (the 2nd edition's, the ones its
SGD schedule was tuned for) and loss-and-gradient step for both. SGD runs the
2nd edition's schedule (learning rate 100, x0.96 every 100 steps) for
--sgd-steps steps; its final loss is the target. L-BFGS then runs iterations of
20 function evaluations, as the 1st edition does, until it reaches that loss.
The report gives both wall times and their ratio (the target: under 0.2).
"""

import time

import tensorflow as tf

from benchmarks.common import add_style_transfer_arguments, benchmark_parser, write_report
from chapters.ch8_generative.style_transfer import RECIPES, LbfgsOptimizer, SgdOptimizer
from chapters.ch8_generative.style_transfer_images import load_image_pair
from chapters.ch8_generative.style_transfer_losses import compute_targets, make_loss_and_grads, make_loss_function
from chapters.performance import setup_device
from models.vgg_style import feature_extractor, vgg19_without_top


def main():
    parser = benchmark_parser(__doc__)
    add_style_transfer_arguments(parser, height=128)
    parser.add_argument("--sgd-steps", type=int, default=1000)
    parser.add_argument("--max-lbfgs-iterations", type=int, default=100)
    args = parser.parse_args()
    height = 64 if args.quick else args.height
    sgd_steps = 20 if args.quick else args.sgd_steps
    device = setup_device().kind

    images = load_image_pair(args.content, args.style, height, args.data_dir)
    height, width, content_image = images.height, images.width, images.content_image
    recipe = RECIPES[2]
    extractor = feature_extractor(vgg19_without_top(args.weights))
    targets = compute_targets(extractor, content_image, images.style_image)
    loss_and_grads = make_loss_and_grads(make_loss_function(extractor, targets, recipe, height * width))
    loss_and_grads(tf.constant(content_image))  # trace once, outside both timings

    def loss_of(image):
        return float(loss_and_grads(tf.constant(image))[0])

    initial_loss = loss_of(content_image)
    sgd = SgdOptimizer(loss_and_grads, content_image, recipe.learning_rate)
    sgd.iteration()  # trace the SGD step, then start again from the content image at step 0
    sgd.variable.assign(content_image)  # (plain SGD keeps no other state)
    sgd.optimizer.iterations.assign(0)
    sgd_curve, sgd_seconds = [], 0.0
    for step in range(1, sgd_steps + 1):
        start = time.perf_counter()
        sgd.iteration()
        sgd_seconds += time.perf_counter() - start  # the loss checks below are not part of SGD's time
        if step % max(1, sgd_steps // 20) == 0 or step == sgd_steps:
            sgd_curve.append({"step": step, "loss": loss_of(sgd.image), "seconds": sgd_seconds})
            print(f"SGD step {step}: loss {sgd_curve[-1]['loss']:.6g} ({sgd_curve[-1]['seconds']:.1f} s)", flush=True)
    target = sgd_curve[-1]["loss"]

    lbfgs = LbfgsOptimizer(loss_and_grads, content_image, evaluations=20)
    lbfgs_curve, reached = [], None
    start = time.perf_counter()
    for iteration in range(1, args.max_lbfgs_iterations + 1):
        loss = lbfgs.iteration()
        lbfgs_curve.append({"iteration": iteration, "loss": loss, "seconds": time.perf_counter() - start})
        print(f"L-BFGS iteration {iteration}: loss {loss:.6g} ({lbfgs_curve[-1]['seconds']:.1f} s)", flush=True)
        if loss <= target:
            reached = lbfgs_curve[-1]
            break
    report = {
        "device": device, "image": f"{width}x{height}", "weights": args.weights,
        "content": images.content.source, "style": images.style.source,
        "loss_weights": {"content": recipe.content_weight, "style": recipe.style_weight,
                         "total_variation": recipe.total_variation_weight},
        "initial_loss": initial_loss,
        "sgd": {"steps": sgd_steps, "seconds": sgd_seconds, "final_loss": target,
                "seconds_per_step": sgd_seconds / sgd_steps, "curve": sgd_curve},
        "lbfgs": {"evaluations_per_iteration": 20, "reached_sgd_loss": reached is not None,
                  "iterations": reached["iteration"] if reached else None,
                  "seconds": reached["seconds"] if reached else None,
                  "best_loss": min(p["loss"] for p in lbfgs_curve), "curve": lbfgs_curve},
        "time_ratio_lbfgs_over_sgd": reached["seconds"] / sgd_seconds if reached else None,
        "target_ratio": 0.2,
    }
    write_report("ch8_lbfgs_vs_sgd" + ("_quick" if args.quick else ""), report, args.output)


if __name__ == "__main__":
    main()
