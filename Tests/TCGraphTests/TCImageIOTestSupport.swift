import TCCore
import TCImageIO

enum TCImageIOTestSupport {
    static func writePNG(_ pixels: Tensor, _ path: String, bits: Int = 8) throws {
        try ImageIO.writePNG(pixels, to: path, bits: bits)
    }
}
