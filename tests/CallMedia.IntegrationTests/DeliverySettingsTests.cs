using System.IO.Compression;
using System.Net;
using System.Text.Json;
using CallMedia.IntegrationTests.Infrastructure;
using Microsoft.Extensions.Options;

namespace CallMedia.IntegrationTests;

/// <summary>The <c>Delivery:*</c> settings: a configured template and zone for every client, and bad settings refused at start.</summary>
public sealed class DeliverySettingsTests
{
    [Fact]
    public async Task Zip_ConfiguredTemplateZoneAndSidecar_ApplyToOldClients()
    {
        await using var server = await TestServer.StartAsync(
            "Delivery:FileNameTemplate={start:yyyy-MM-dd_HHmm}_{calling}_{id}", "Delivery:TimeZone=Asia/Tokyo");
        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1001,1002&action=download");
        using var response = await client.SendAsync(CallRec.Send(session, token, "zip"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var zip = new ZipArchive(new MemoryStream(await response.Content.ReadAsByteArrayAsync()));
        using var json = JsonDocument.Parse(zip.GetEntry("calldata.json")!.Open());
        Assert.Equal("Asia/Tokyo", json.RootElement.GetProperty("timeZone").GetString());
        var first = json.RootElement.GetProperty("calls")[0];
        var local = DateTimeOffset.Parse(first.GetProperty("startLocal").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(TimeSpan.FromHours(9), local.Offset);
        var expected = $"{local:yyyy-MM-dd_HHmm}_{first.GetProperty("calling").GetProperty("number").GetString()}_1001.mp3";
        Assert.Equal(["calldata.txt", "calldata.json", expected], zip.Entries.Take(3).Select(e => e.FullName));
    }

    [Fact]
    public async Task Zip_CallDataJsonSwitchedOff_OldClientsZipHasOnlyTheirEntries()
    {
        await using var server = await TestServer.StartAsync("Delivery:CallDataJsonInEveryZip=false");
        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var plain = await CallRec.RequireTokenAsync(client, session, "id_call[]=1001,1002&action=download");
        using var response = await client.SendAsync(CallRec.Send(session, plain, "zip"));
        using var zip = new ZipArchive(new MemoryStream(await response.Content.ReadAsByteArrayAsync()));
        Assert.Equal("calldata.txt", zip.Entries[0].FullName);
        Assert.Null(zip.GetEntry("calldata.json"));
        Assert.Equal(3, zip.Entries.Count);

        var withZone = await CallRec.RequireTokenAsync(client, session, "id_call[]=1001,1002&action=download&tz=Europe/Prague");
        using var zoned = await client.SendAsync(CallRec.Send(session, withZone, "zip"));
        using var zonedZip = new ZipArchive(new MemoryStream(await zoned.Content.ReadAsByteArrayAsync()));
        Assert.Equal(["calldata.txt", "calldata.json"], zonedZip.Entries.Take(2).Select(e => e.FullName));
    }

    [Theory]
    [InlineData("Delivery:TimeZone=Mars/Olympus_Mons", "Delivery:TimeZone")]
    [InlineData("Delivery:FileNameTemplate={id}_{colour}", "{colour}")]
    public async Task Start_BadDeliverySetting_IsRefusedNamingIt(string setting, string named)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(async () => await (await TestServer.StartAsync(setting)).DisposeAsync());
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }
}
