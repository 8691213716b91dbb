using CallMedia.Delivery;

namespace CallMedia.UnitTests;

/// <summary>The paths the send call file lane takes ahead of routing: only ones the route itself matches.</summary>
public sealed class SendCallFileRouteTests
{
    [Theory]
    [InlineData("/callrec/sendcallfile.mp3", "mp3")]
    [InlineData("/CallRec/SendCallFile.MP4", "MP4")] // routing matches literals in any case
    [InlineData("/callrec/sendcallfile.x", "x")]
    [InlineData("/callrec/sendcallfile.abcdefghijklmnop", "abcdefghijklmnop")]
    public void Extension_OfAPathTheRouteMatches(string path, string ext) =>
        Assert.Equal(ext, SendCallFileEndpoints.Extension(path));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("/callrec/sendcallfile.")] // no extension: the route does not match
    [InlineData("/callrec/sendcallfile")]
    [InlineData("/callrec/sendcallfile.mp3/")] // left to routing
    [InlineData("/callrec/sendcallfile.mp3/x")]
    [InlineData("/callrec/sendcallfile.tar.gz")]
    [InlineData("/callrec/sendcallfile.mp3%2Fx")]
    [InlineData("/callrec/sendcallfile.abcdefghijklmnopq")] // 17 characters
    [InlineData("/callrec/sendcallfilex.mp3")]
    [InlineData("/callrec//sendcallfile.mp3")]
    [InlineData("/api/callrec/sendcallfile.mp3")]
    [InlineData("/callrec/sendcallfile.mp\u00b3")]
    public void Extension_OfAnyOtherPath_IsNone(string? path) =>
        Assert.Null(SendCallFileEndpoints.Extension(path));
}
