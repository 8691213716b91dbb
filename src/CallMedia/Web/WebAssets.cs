using System.Collections.Frozen;
using System.IO.Compression;
using System.Security.Cryptography;
using CallMedia.Hosting;
using Microsoft.Net.Http.Headers;

namespace CallMedia.Web;

/// <summary>One static file of the web app, with its Brotli and gzip forms made once at start.</summary>
public sealed record WebAsset(string Name, string ContentType, byte[] Identity, byte[] Brotli, byte[] Gzip, string ETag);

/// <summary>
/// The web app's scripts, styles and pages, embedded in the executable (no second server, no CDN). Each is
/// compressed once when the server starts, and sent in the best encoding the browser accepts, with a strong ETag
/// so a revisit costs a 304.
/// </summary>
public sealed class WebAssets
{
    private const string Prefix = "web/";

    private readonly FrozenDictionary<string, WebAsset> _assets;

    public WebAssets()
    {
        var assembly = typeof(WebAssets).Assembly;
        var assets = new Dictionary<string, WebAsset>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.ToArray();
            var name = resource[Prefix.Length..];
            var etag = "\"" + Convert.ToHexString(SHA256.HashData(bytes))[..20].ToLowerInvariant() + "\"";
            assets[name] = new WebAsset(name, ContentTypeOf(name), bytes, Compress(bytes, s => new BrotliStream(s, CompressionLevel.SmallestSize)), Compress(bytes, s => new GZipStream(s, CompressionLevel.SmallestSize)), etag);
        }

        _assets = assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    public WebAsset? Find(string name) => _assets.GetValueOrDefault(name);

    /// <summary>Sends an asset: 304 when the browser has it, else the smallest encoding it accepts.</summary>
    public static async Task SendAsync(HttpContext context, WebAsset asset, string cacheControl)
    {
        var response = context.Response;
        response.Headers.ETag = asset.ETag;
        response.Headers.CacheControl = cacheControl;
        response.Headers.Vary = HeaderNames.AcceptEncoding;
        response.Headers.XContentTypeOptions = "nosniff";
        if (context.Request.Headers.IfNoneMatch.Any(v => v is not null && v.Split(',').Any(t => t.Trim() == asset.ETag || t.Trim() == "*")))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        var encoding = Choose(context.Request.Headers.AcceptEncoding.ToString());
        var body = encoding switch { "br" => asset.Brotli, "gzip" => asset.Gzip, _ => asset.Identity };
        if (encoding is not null)
        {
            response.Headers.ContentEncoding = encoding;
        }

        response.ContentType = asset.ContentType;
        response.ContentLength = body.Length;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await response.Body.WriteAsync(body, context.RequestAborted);
        }
    }

    /// <summary>The coding to send a file in: br or gzip, whichever the client prefers most (br when equal); null for none.</summary>
    internal static string? Choose(string acceptEncoding) => AcceptEncoding.Choose(acceptEncoding, "br", "gzip");

    private static byte[] Compress(byte[] bytes, Func<Stream, Stream> encoder)
    {
        using var output = new MemoryStream();
        using (var stream = encoder(output))
        {
            stream.Write(bytes);
        }

        return output.ToArray();
    }

    private static string ContentTypeOf(string name) => Path.GetExtension(name) switch
    {
        ".js" => "text/javascript;charset=utf-8",
        ".css" => "text/css;charset=utf-8",
        ".html" => "text/html;charset=utf-8",
        ".svg" => "image/svg+xml",
        ".png" => "image/png",
        ".txt" => "text/plain;charset=utf-8",
        _ => "application/octet-stream",
    };
}
