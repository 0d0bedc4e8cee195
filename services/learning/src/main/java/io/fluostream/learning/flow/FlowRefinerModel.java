package io.fluostream.learning.flow;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * The learned flow estimator's file: a header (magic, format version, network width, model
 * version, a line on how it was trained) followed by the network's parameters in DJL's format.
 * The header lets a loader rebuild the right network before reading the weights, and names the
 * model in the provenance of every frame it makes.
 */
final class FlowRefinerModel {

    private static final String MAGIC = "fluostream-flow-refiner";
    private static final int FORMAT = 1;

    /** What the header says. */
    record Header(int width, String version, String description) {
    }

    private FlowRefinerModel() {
    }

    /** Serialises an initialised network with its header. */
    static byte[] write(Block block, Header header) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeUTF(MAGIC);
            out.writeInt(FORMAT);
            out.writeInt(header.width());
            out.writeUTF(header.version());
            out.writeUTF(header.description());
            block.saveParameters(out);
        } catch (IOException e) {
            throw new IllegalStateException("could not serialise the flow network: " + e.getMessage(), e);
        }
        return bytes.toByteArray();
    }

    /** A network read from {@code in}, its parameters in {@code manager}. */
    static Loaded read(InputStream in, NDManager manager) throws IOException {
        DataInputStream data = new DataInputStream(in);
        String magic;
        try {
            magic = data.readUTF();
        } catch (IOException e) {
            magic = "";
        }
        if (!MAGIC.equals(magic)) {
            throw new IOException("not a flow-refiner model file (no '" + MAGIC + "' header); retrain one with "
                    + TrainFlowRefiner.class.getName());
        }
        int format = data.readInt();
        if (format != FORMAT) {
            throw new IOException("flow-refiner model format " + format + " is not supported (this build reads "
                    + FORMAT + "); retrain it with " + TrainFlowRefiner.class.getName());
        }
        Header header = new Header(data.readInt(), data.readUTF(), data.readUTF());
        Block block = FlowRefinerNet.build(header.width());
        block.initialize(manager, DataType.FLOAT32, new Shape(1, RefinerInputs.CHANNELS, FlowRefinerNet.MULTIPLE,
                FlowRefinerNet.MULTIPLE));
        try {
            block.loadParameters(manager, data);
        } catch (MalformedModelException e) {
            throw new IOException("flow-refiner parameters do not fit a width-" + header.width() + " network: "
                    + e.getMessage(), e);
        }
        return new Loaded(block, header);
    }

    record Loaded(Block block, Header header) {
    }
}
