package standin

import (
	"encoding/json"
	"testing"
)

// /props and /slots answer with llama-server's keys, for as many slots as --parallel says.
func TestPropsAndSlotsDescribeTheSlots(t *testing.T) {
	url, _ := startInProcess(t, Options{Alias: "tiny", Slots: 3})
	resp, err := testClient.Get(url + "/props")
	if err != nil {
		t.Fatal(err)
	}
	props := decode(t, resp)
	if props["total_slots"] != 3.0 || props["model_alias"] != "tiny" || props["default_generation_settings"] == nil {
		t.Errorf("/props: %v", props)
	}
	resp, err = testClient.Get(url + "/slots")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var slots []struct {
		ID           *int  `json:"id"`
		NCtx         int   `json:"n_ctx"`
		IsProcessing *bool `json:"is_processing"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&slots); err != nil || len(slots) != 3 {
		t.Fatalf("/slots: %v, %d slots", err, len(slots))
	}
	for i, sl := range slots {
		if sl.ID == nil || *sl.ID != i || sl.NCtx <= 0 || sl.IsProcessing == nil || *sl.IsProcessing {
			t.Errorf("slot %d: %+v", i, sl)
		}
	}
}
