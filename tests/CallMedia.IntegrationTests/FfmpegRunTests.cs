using CallMedia.Media;
using CallMedia.Storage;
using Microsoft.Extensions.Options;

namespace CallMedia.IntegrationTests;

/// <summary>The ffmpeg runner with the real tool.</summary>
public sealed class FfmpegRunTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cm-ffmpeg-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Start_ToolExitsBeforeItsOutputIsRead_OutputStillReadsToTheEnd()
    {
        // A short transcode can end before the reader first asks for its output; the run must still hand it all over
        // (it once asked the process it had already disposed, and the request failed with a 500).
        var ffmpeg = new Ffmpeg(Options.Create(new MediaOptions()), new MediaRoot(Path.Combine(_dir, "media")));
        await using var run = ffmpeg.Start(["-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "0.5", "-f", "mp3", "pipe:1"], null, CancellationToken.None);
        await run.Exited;

        using var output = new MemoryStream();
        await run.Output.CopyToAsync(output);

        Assert.Equal(0, run.ExitCode);
        Assert.True(output.Length > 500, $"only {output.Length} bytes of MP3");
    }
}
