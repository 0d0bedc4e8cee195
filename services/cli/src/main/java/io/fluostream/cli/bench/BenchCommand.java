package io.fluostream.cli.bench;

import picocli.CommandLine.Command;

/**
 * {@code ./fluostream bench <what>}: benchmarks that print what they measure and end with one line
 * of JSON. Speed is never asserted in tests (these machines are shared and noisy); it is measured
 * here, on demand, with the figures' conditions (threads, sizes, device) in the JSON.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure a stage's quality against ground truth and its speed; the last line is one JSON object.",
        subcommands = {BenchPipeline.class, BenchDenoise.class, BenchUnmix.class, BenchStabilise.class, BenchFlow.class})
public final class BenchCommand {
}
