package io.fluostream.cli;

import io.fluostream.cli.tiff.ExportException;
import io.fluostream.cli.tiff.StreamCollector;
import io.fluostream.cli.tiff.TiffExport;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code ./fluostream export}: one stream of any topic → an OME-TIFF time series plus a CSV of each
 * frame's figures and provenance. Reads committed records from the beginning without a consumer
 * group, so it can be run again at any time and writes the same bytes for the same frames.
 */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = {"Write one stream of a topic as an OME-TIFF time series (channels x time points, sequence order) "
                + "and FILE.csv with each frame's figures and provenance.",
                "Stops after --frames frames, or when no frame of the stream arrived for --timeout-s seconds."})
final class ExportCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--topic", required = true, description = "Topic key (raw, denoised, unmixed, stabilised, flow, dlq) or full name.")
    String topic;

    @Option(names = "--stream", required = true, description = "Stream id, e.g. rig1/cam0/pos0.")
    String stream;

    @Option(names = "--output", required = true, description = "The OME-TIFF to write, e.g. flow.ome.tif (the CSV goes beside it).")
    Path output;

    @Option(names = "--frames", description = "Stop after this many frames; 0 = all until --timeout-s (default ${DEFAULT-VALUE}).")
    int frames = 0;

    @Option(names = "--timeout-s", description = "Stop when no frame of the stream arrived for this long (default ${DEFAULT-VALUE}).")
    double timeoutSeconds = 10;

    @Option(names = "--bootstrap", description = "Kafka bootstrap servers (default ${DEFAULT-VALUE}, the broker of ./fluostream up).")
    String bootstrap = "localhost:9092";

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (frames < 0 || !(timeoutSeconds > 0)) {
            err.println("export: --frames must be >= 0 and --timeout-s > 0");
            return 2;
        }
        String topicName = ReplayCommand.topicName(topic);
        out.println("export: reading stream " + stream + " from " + topicName + " on " + bootstrap);
        out.flush();
        StreamCollector.Collected c;
        try {
            c = new StreamCollector(bootstrap).collect(topicName, stream, frames,
                    Duration.ofMillis((long) (timeoutSeconds * 1000)));
        } catch (IllegalStateException e) {
            err.println("export: " + e.getMessage());
            return 1;
        }
        if (c.undecodable() > 0) {
            err.println("export: skipped " + c.undecodable() + " records of stream " + stream
                    + " that are not frames (first: " + c.firstProblem() + ")");
        }
        if (c.frames().isEmpty()) {
            err.println("export: no frame of stream " + stream + " on " + topicName + " within " + timeoutSeconds
                    + " s; check --stream and --topic (is the pipeline running?)");
            return 1;
        }
        if (frames > 0 && c.frames().size() < frames) {
            err.println("export: only " + c.frames().size() + " of " + frames + " frames arrived before " + timeoutSeconds
                    + " s without a frame; writing those");
        }
        try {
            TiffExport.Result r = TiffExport.write(stream, topicName, c.frames(), output);
            out.println("export: wrote " + r.frames() + " time points (sequences " + Long.toUnsignedString(r.firstSequence())
                    + ".." + Long.toUnsignedString(r.lastSequence()) + ") x " + r.channels().size() + " channels "
                    + r.channels() + " as " + r.type().omeName() + " to " + r.tiff());
            out.println("export: per-frame figures and provenance in " + r.csv());
            if (c.duplicates() > 0) {
                out.println("export: " + c.duplicates() + " repeated frames (same sequence number) were written once");
            }
            if (r.missingPlanes() > 0) {
                out.println("export: " + r.missingPlanes() + " auxiliary planes were missing from some frames and are NaN");
            }
            return 0;
        } catch (ExportException e) {
            err.println("export: " + e.getMessage());
            return 1;
        } catch (IOException e) {
            err.println("export: cannot write " + output + ": " + e.getMessage());
            return 1;
        }
    }
}
