using OnnxTransfer.Runtime;

namespace OnnxTransfer.Tests.Runtime;

public class ExecutionDeviceTests
{
    [Theory]
    [InlineData("auto", DeviceKind.Auto, 0, "auto")]
    [InlineData("CPU", DeviceKind.Cpu, 0, "cpu")]
    [InlineData("cuda", DeviceKind.Cuda, 0, "cuda:0")]
    [InlineData("cuda:3", DeviceKind.Cuda, 3, "cuda:3")]
    [InlineData(" gpu:1 ", DeviceKind.Cuda, 1, "cuda:1")]
    public void Parses_device_forms(string text, DeviceKind kind, int id, string canonical)
    {
        var d = ExecutionDevice.Parse(text);
        Assert.Equal((kind, id), (d.Kind, d.DeviceId));
        Assert.Equal(canonical, d.ToString());
        Assert.Equal(d, ExecutionDevice.Parse(d.ToString()));
    }

    [Fact]
    public void Parses_provider_with_options_and_round_trips()
    {
        var d = ExecutionDevice.ParseProvider("MyEp:library=/opt/ep/libmy.so, device_type = npu ,x=1");
        Assert.Equal(DeviceKind.Provider, d.Kind);
        Assert.Equal("MyEp", d.Provider);
        Assert.Equal("/opt/ep/libmy.so", d.Library);
        Assert.Equal("npu", d.Options["device_type"]);
        Assert.Equal("ep:MyEp:device_type=npu,library=/opt/ep/libmy.so,x=1", d.ToString());
        Assert.Equal(d, ExecutionDevice.Parse(d.ToString()));
    }

    [Theory]
    [InlineData("CPUExecutionProvider", "cpu")]
    [InlineData("cuda:device_id=2", "cuda:2")]
    [InlineData("XNNPACK", "ep:XNNPACK")]
    public void Provider_names_of_cpu_and_cuda_map_to_devices(string ep, string expected) =>
        Assert.Equal(expected, ExecutionDevice.ParseProvider(ep).ToString());

    [Theory]
    [InlineData("tpu")]
    [InlineData("cuda:x")]
    [InlineData("cuda:-1")]
    [InlineData("cpu:1")]
    [InlineData("")]
    public void Rejects_bad_devices_with_the_accepted_forms(string text)
    {
        var e = Assert.Throws<OnnxTransferException>(() => ExecutionDevice.Parse(text));
        Assert.Contains($"'{text}'", e.Message);
        Assert.Contains("cuda", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData(":a=1")]
    [InlineData("X:novalue")]
    public void Rejects_bad_provider_specs(string text) =>
        Assert.Throws<OnnxTransferException>(() => ExecutionDevice.ParseProvider(text));

    [Fact]
    public void Ep_option_wins_over_device_and_default_is_auto()
    {
        Assert.Equal("ep:XNNPACK", ExecutionDevice.FromOptions("cuda", "XNNPACK").ToString());
        Assert.Equal(ExecutionDevice.Auto, ExecutionDevice.FromOptions(null, null));
        Assert.Equal(ExecutionDevice.Cuda(1), ExecutionDevice.FromOptions("cuda:1", " "));
    }
}
