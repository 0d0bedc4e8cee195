package io.fluostream.cli;

import io.fluostream.cli.bench.BenchCommand;
import io.fluostream.cli.ctl.CtlCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code ./fluostream}: run the pipeline, its demo and its tools. */
@Command(name = "fluostream", mixinStandardHelpOptions = true, version = "FluoStream 0.1.0",
        description = "Live reconstruction of fluorescence microscopy streams on Kafka.",
        subcommands = {DemoCommand.class, UpCommand.class, RigCommand.class, ReplayCommand.class, ExportCommand.class,
                BenchCommand.class, CtlCommand.class})
public final class FluoStream {

    public static void main(String[] args) {
        System.exit(new CommandLine(new FluoStream()).setCaseInsensitiveEnumValuesAllowed(true).execute(args));
    }
}
