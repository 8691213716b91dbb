using CallMedia.Calls;
using CallMedia.Storage;

namespace CallMedia.Media;

/// <summary>
/// The stored files of one ffmpeg run as local plaintext files, in order: a plain file is read in place, an
/// encrypted one through a private temp copy. Disposing removes the copies, also when the run failed.
/// </summary>
public sealed class LocalInputs : IAsyncDisposable
{
    private readonly List<LocalInput> _inputs = [];

    private LocalInputs()
    {
    }

    public IReadOnlyList<string> Paths => _inputs.Select(i => i.Path).ToList();

    public static async Task<LocalInputs> OpenAsync(IMediaStorage storage, IEnumerable<MediaFile> files, CancellationToken ct)
    {
        var inputs = new LocalInputs();
        try
        {
            foreach (var f in files)
            {
                inputs._inputs.Add(await storage.OpenLocalInputAsync(f.Path, f.Format, ct));
            }

            return inputs;
        }
        catch
        {
            await inputs.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var input in _inputs)
        {
            await input.DisposeAsync();
        }

        _inputs.Clear();
    }
}
