package io.fluostream.tiff;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** The tifffile-written test files (see tifffile/make_fixtures.py) and their known sample values. */
final class Fixtures {

    static final int T = 3;
    static final int C = 2;
    static final int Y = 5;
    static final int X = 7;

    private Fixtures() {
    }

    /** Copies a fixture out of the test resources into {@code dir}. */
    static Path copy(String name, Path dir) {
        try (InputStream in = Fixtures.class.getResourceAsStream("tifffile/" + name)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource tifffile/" + name);
            }
            Path p = dir.resolve(name);
            Files.copy(in, p, StandardCopyOption.REPLACE_EXISTING);
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The value make_fixtures.py wrote at (t, c, z, y, x). */
    static double value(SampleType type, int t, int c, int z, int y, int x) {
        int v = 10000 * t + 1000 * c + 100 * z + 10 * y + x;
        return switch (type) {
            case UINT8 -> v % 251;
            case UINT16 -> v;
            case FLOAT32 -> v + 0.25;
        };
    }

    /** Sample i of little-endian channel-major bytes as a number. */
    static double sample(byte[] le, SampleType type, int i) {
        ByteBuffer b = ByteBuffer.wrap(le).order(ByteOrder.LITTLE_ENDIAN);
        return switch (type) {
            case UINT8 -> b.get(i) & 0xFF;
            case UINT16 -> b.getShort(2 * i) & 0xFFFF;
            case FLOAT32 -> b.getFloat(4 * i);
        };
    }
}
